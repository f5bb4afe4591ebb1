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
//	plan-changes-state  its plan writes: it creates or replaces a ConfigMap holding the name
//	                    (which its destroy deletes)
//	plan-ignores-artifact
//	                    a create with PLAN_APPLY=true plans anew instead of applying the
//	                    artifact, so it applies a stale plan as if it were fresh
//
// Inputs: "name", a non-empty string (else it fails with ERROR_FILE and exit code 2).
// Outputs: {"greeting": "hello <name>"}; secret outputs: {"token": <derived from the run id>}.
// With STATE_PATH it keeps the greeting it gave there, and implements ACTION=plan: the
// summary compares the inputs with that greeting, the artifact holds the greeting to give
// and the one it was planned against, and a create with PLAN_APPLY=true refuses an
// artifact planned against another greeting.
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
	"path/filepath"
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
		if err := applyPlan(mode, out); err != nil {
			return err
		}
		if err := keepGreeting(out["greeting"].(string)); err != nil {
			return err
		}
	case "destroy":
		// leaves-state forgets its ConfigMap here.
		if err := keepGreeting(""); err != nil {
			return err
		}
		if mode == "plan-changes-state" {
			if err := apiRequest(http.MethodDelete, "configmaps/brokenrunner-plan-"+runID, nil); err != nil {
				return err
			}
		}
	case "plan":
		if mode == "plan-changes-state" {
			if err := replaceConfigMap("brokenrunner-plan-"+runID, name); err != nil {
				return err
			}
		}
		return plan("hello " + name)
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
	return keepConfigMap("brokenrunner-"+runID, name)
}

func keepConfigMap(cm, name string) error {
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": cm, "labels": map[string]string{"brokenrunner/run-id": os.Getenv("CONTAINERDRIVER_RUN_ID")}},
		"data":     map[string]string{"name": name},
	})
	return apiRequest(http.MethodPost, "configmaps", body)
}

// replaceConfigMap creates the ConfigMap cm holding name, or replaces the one there.
func replaceConfigMap(cm, name string) error {
	if err := keepConfigMap(cm, name); err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": cm}, "data": map[string]string{"name": name},
	})
	return apiRequest(http.MethodPut, "configmaps/"+cm, body)
}

// apiRequest sends a request about the pod's namespace's resource with the service
// account's token; a conflict (it exists) or not found (it is gone) counts as done.
func apiRequest(method, resource string, body []byte) error {
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
	host := net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	url := fmt.Sprintf("https://%s/api/v1/namespaces/%s/%s", host, strings.TrimSpace(string(ns)), resource)
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, resource, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated, http.StatusAccepted:
		fmt.Printf("brokenrunner: %s %s done\n", method, resource)
	case http.StatusConflict, http.StatusNotFound:
		fmt.Printf("brokenrunner: %s %s: %s\n", method, resource, resp.Status)
	default:
		return fmt.Errorf("%s %s: %s", method, resource, resp.Status)
	}
	return nil
}

// lastGreeting is the greeting the last create gave ("" without STATE_PATH or before one).
func lastGreeting() string {
	dir := os.Getenv("STATE_PATH")
	if dir == "" {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(dir, "greeting"))
	return string(b)
}

// keepGreeting records the greeting given ("" after a destroy) in STATE_PATH.
func keepGreeting(g string) error {
	dir := os.Getenv("STATE_PATH")
	if dir == "" {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, "greeting"), []byte(g), 0o644)
}

// plan writes what a create (or, with PLAN_DESTROY=true, a destroy) would do.
func plan(greeting string) error {
	last := lastGreeting()
	var add, change, destroy int
	var text string
	switch {
	case os.Getenv("PLAN_DESTROY") == "true" && last == "":
		text = "No changes: nothing to remove."
	case os.Getenv("PLAN_DESTROY") == "true":
		text, destroy = fmt.Sprintf("- greeting %q will be removed", last), 1
	case last == "":
		text, add = fmt.Sprintf("+ greeting %q will be given", greeting), 1
	case last == greeting:
		text = "No changes."
	default:
		text, change = fmt.Sprintf("~ greeting %q -> %q", last, greeting), 1
	}
	if os.Getenv("PLAN_DESTROY") != "true" {
		dir := os.Getenv("PLAN_ARTIFACT_DIR")
		if err := os.WriteFile(filepath.Join(dir, "greeting"), []byte(greeting), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "planned-against"), []byte(last), 0o644); err != nil {
			return err
		}
	}
	sum, _ := json.Marshal(map[string]any{"add": add, "change": change, "destroy": destroy, "has_changes": add+change+destroy > 0})
	if err := os.WriteFile(os.Getenv("PLAN_FILE"), []byte(text+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Println("brokenrunner: plan:", text)
	return os.WriteFile(os.Getenv("PLAN_SUMMARY_FILE"), sum, 0o644)
}

// applyPlan, in a create with PLAN_APPLY=true, applies the artifact's greeting, or fails
// when it was planned against another greeting than the last one (plan-ignores-artifact
// plans anew instead).
func applyPlan(mode string, out map[string]any) error {
	if os.Getenv("PLAN_APPLY") != "true" || mode == "plan-ignores-artifact" {
		return nil
	}
	dir := os.Getenv("PLAN_ARTIFACT_DIR")
	g, err := os.ReadFile(filepath.Join(dir, "greeting"))
	if err != nil {
		return fmt.Errorf("PLAN_APPLY=true but no saved plan: %w", err)
	}
	against, err := os.ReadFile(filepath.Join(dir, "planned-against"))
	if err != nil {
		return fmt.Errorf("PLAN_APPLY=true but no saved plan: %w", err)
	}
	if last := lastGreeting(); string(against) != last {
		return fmt.Errorf("the saved plan is stale: it was made against %q, the greeting is %q now: plan again", against, last)
	}
	out["greeting"] = string(g)
	return nil
}
