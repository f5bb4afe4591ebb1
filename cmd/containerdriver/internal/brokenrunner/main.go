// Command brokenrunner is the runner image of containerdriver check's tests: it follows
// the Container Driver contract but for one deliberate mistake, named by its argument:
//
//	good                follows the contract (the root-user test builds it without a USER)
//	non-object-outputs  writes a JSON list to OUTPUTS_FILE
//	echo-secret         prints its environment, secret variables included, to its log
//	not-idempotent      returns a new random "id" on every create, as a runner that makes a
//	                    new thing each time instead of finding the one it made
//	leaves-state        keeps a ConfigMap named after CONTAINERDRIVER_RUN_ID, which its
//	                    destroy forgets to delete
//
// Inputs: "name", a non-empty string (else it fails with ERROR_FILE and exit code 2).
// Outputs: {"greeting": "hello <name>"}; secret outputs: {"token": <derived from the run id>}.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
)

func main() {
	mode := "good"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if err := run(mode); err != nil {
		fmt.Fprintln(os.Stderr, "brokenrunner:", err)
		_ = os.WriteFile(os.Getenv("ERROR_FILE"), []byte(err.Error()+"\n"), 0o644)
		os.Exit(2)
	}
}

func run(mode string) error {
	action, runID := os.Getenv("ACTION"), os.Getenv("CONTAINERDRIVER_RUN_ID")
	fmt.Printf("brokenrunner (%s): ACTION=%s run %s\n", mode, action, runID)
	raw, err := os.ReadFile(os.Getenv("RESOURCE_INPUTS_FILE"))
	if err != nil {
		return fmt.Errorf("read inputs: %w", err)
	}
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("parse inputs: %w", err)
	}
	name, _ := in["name"].(string)
	if name == "" {
		return fmt.Errorf("input %q must be a non-empty string", "name")
	}
	if mode == "echo-secret" {
		env := os.Environ()
		sort.Strings(env)
		for _, kv := range env {
			fmt.Println(kv)
		}
	}
	out := map[string]any{}
	sum := sha256.Sum256([]byte("token/" + runID))
	secret := map[string]any{}
	switch action {
	case "create":
		out["greeting"] = "hello " + name
		secret["token"] = hex.EncodeToString(sum[:12])
		if mode == "not-idempotent" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			out["id"] = hex.EncodeToString(b)
		}
		if mode == "leaves-state" {
			if err := keepState(runID, name); err != nil {
				return err
			}
		}
	case "destroy":
		// leaves-state forgets its ConfigMap here.
	default:
		return fmt.Errorf("unknown ACTION %q", action)
	}
	var ob []byte
	if mode == "non-object-outputs" && action == "create" {
		ob = []byte(`["hello", "` + name + `"]`)
	} else if ob, err = json.Marshal(out); err != nil {
		return err
	}
	if err := os.WriteFile(os.Getenv("OUTPUTS_FILE"), ob, 0o644); err != nil {
		return err
	}
	sb, err := json.Marshal(secret)
	if err != nil {
		return err
	}
	if err := os.WriteFile(os.Getenv("SECRET_OUTPUTS_FILE"), sb, 0o644); err != nil {
		return err
	}
	fmt.Printf("brokenrunner: %s done\n", action)
	return nil
}

// keepState creates the ConfigMap brokenrunner-<run id> through the API (the service
// account may create ConfigMaps, as the sidecars need); one that exists is kept.
func keepState(runID, name string) error {
	const sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
	token, err := os.ReadFile(sa + "token")
	if err != nil {
		return fmt.Errorf("read the service account token: %w", err)
	}
	ca, err := os.ReadFile(sa + "ca.crt")
	if err != nil {
		return err
	}
	ns, err := os.ReadFile(sa + "namespace")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "brokenrunner-" + runID, "labels": map[string]string{"brokenrunner/run-id": runID}},
		"data":     map[string]string{"name": name},
	})
	host := net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	url := fmt.Sprintf("https://%s/api/v1/namespaces/%s/configmaps", host, strings.TrimSpace(string(ns)))
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("create the state ConfigMap: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated:
		fmt.Println("brokenrunner: state ConfigMap created")
	case http.StatusConflict:
		fmt.Println("brokenrunner: state ConfigMap found")
	default:
		return fmt.Errorf("create the state ConfigMap: %s", resp.Status)
	}
	return nil
}
