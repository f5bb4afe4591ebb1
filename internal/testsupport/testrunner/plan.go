package main

// The plan action (ACTION=plan, PLAN_* variables). The test runner's "infrastructure" is
// one ConfigMap of the pod's namespace (inputs "infra": {"name": ..., "data": {...}}),
// written through the API with the mounted service account token (the run needs
// mount_service_account_token and a Role allowing get, create, update and delete on
// configmaps):
//
//	create                 writes the ConfigMap from the inputs; outputs "applied_plan_id": ""
//	create, PLAN_APPLY     writes exactly the artifact's data (PLAN_ARTIFACT_DIR/plan.json),
//	                       fails without one; outputs "applied_plan_id": the artifact's id
//	plan                   compares the inputs with the ConfigMap (PLAN_DESTROY: whether it
//	                       exists), writes PLAN_FILE, PLAN_SUMMARY_FILE and the artifact;
//	                       changes nothing (but with count_state it increments
//	                       STATE_PATH/count, which the driver must never save)
//	destroy                deletes the ConfigMap
//
// Inputs "plan_echo_env" (a variable whose value the plan text prints: masking tests),
// "plan_fail" (a message: the plan fails with it) and "plan_symlink" (PLAN_FILE becomes a
// symbolic link to that path) shape the plan run.

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type infra struct {
	Name string            `json:"name"`
	Data map[string]string `json:"data"`
}

type planInputs struct {
	Infra       *infra `json:"infra"`
	PlanEchoEnv string `json:"plan_echo_env"`
	PlanFail    string `json:"plan_fail"`
	// PlanSymlink makes PLAN_FILE a symbolic link to this path (a hostile runner pointing
	// outputs-fetcher at its API token).
	PlanSymlink string `json:"plan_symlink"`
	CountState  bool   `json:"count_state"`
}

type artifact struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Data    map[string]string `json:"data"`
	Destroy bool              `json:"destroy"`
}

func readPlanInputs(raw []byte) planInputs {
	var p planInputs
	_ = json.Unmarshal(raw, &p)
	return p
}

// plan previews what create (or destroy) would do to the ConfigMap.
func plan(in planInputs) error {
	if dir := os.Getenv("STATE_PATH"); dir != "" && in.CountState {
		n := 0
		if b, err := os.ReadFile(filepath.Join(dir, "count")); err == nil {
			_, _ = fmt.Sscan(string(b), &n)
		}
		_ = os.WriteFile(filepath.Join(dir, "count"), []byte(fmt.Sprint(n+1)), 0o644)
	}
	if in.PlanFail != "" {
		_ = os.WriteFile(os.Getenv("ERROR_FILE"), []byte(in.PlanFail), 0o644)
		os.Exit(4)
	}
	if in.PlanSymlink != "" {
		if err := writeJSON(os.Getenv("PLAN_SUMMARY_FILE"), map[string]any{"add": 0, "change": 0, "destroy": 0, "has_changes": false}); err != nil {
			return err
		}
		return os.Symlink(in.PlanSymlink, os.Getenv("PLAN_FILE"))
	}
	destroy := os.Getenv("PLAN_DESTROY") == "true"
	var text strings.Builder
	sum := map[string]any{"add": 0, "change": 0, "destroy": 0, "has_changes": false}
	art := artifact{ID: randomID(), Destroy: destroy}
	if in.Infra != nil {
		art.Name, art.Data = in.Infra.Name, in.Infra.Data
		current, found, err := getConfigMap(in.Infra.Name)
		if err != nil {
			return err
		}
		switch {
		case destroy && found:
			fmt.Fprintf(&text, "  - destroy configmap/%s\n", in.Infra.Name)
			sum["destroy"], sum["has_changes"] = 1, true
		case destroy:
			fmt.Fprintf(&text, "No changes. configmap/%s does not exist.\n", in.Infra.Name)
		case !found:
			fmt.Fprintf(&text, "  + create configmap/%s\n", in.Infra.Name)
			for _, k := range sortedKeys(in.Infra.Data) {
				fmt.Fprintf(&text, "      %s = %q\n", k, in.Infra.Data[k])
			}
			sum["add"], sum["has_changes"] = 1, true
		default:
			var lines []string
			keys := map[string]string{}
			for k := range current {
				keys[k] = ""
			}
			for k := range in.Infra.Data {
				keys[k] = ""
			}
			for _, k := range sortedKeys(keys) {
				old, had := current[k]
				nw, has := in.Infra.Data[k]
				switch {
				case had && !has:
					lines = append(lines, fmt.Sprintf("      - %s = %q", k, old))
				case !had && has:
					lines = append(lines, fmt.Sprintf("      + %s = %q", k, nw))
				case old != nw:
					lines = append(lines, fmt.Sprintf("      ~ %s: %q -> %q", k, old, nw))
				}
			}
			if len(lines) == 0 {
				fmt.Fprintf(&text, "No changes. configmap/%s is up to date.\n", in.Infra.Name)
			} else {
				fmt.Fprintf(&text, "  ~ update configmap/%s\n%s\n", in.Infra.Name, strings.Join(lines, "\n"))
				sum["change"], sum["has_changes"] = 1, true
			}
		}
	} else {
		text.WriteString("No changes. (no infra in the inputs)\n")
	}
	if in.PlanEchoEnv != "" {
		fmt.Fprintf(&text, "  env %s = %s\n", in.PlanEchoEnv, os.Getenv(in.PlanEchoEnv))
	}
	fmt.Fprintf(&text, "artifact %s\n", art.ID)
	if err := os.WriteFile(os.Getenv("PLAN_FILE"), []byte(text.String()), 0o644); err != nil {
		return err
	}
	if err := writeJSON(os.Getenv("PLAN_SUMMARY_FILE"), sum); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(os.Getenv("PLAN_ARTIFACT_DIR"), "plan.json"), art); err != nil {
		return err
	}
	fmt.Print(text.String())
	return nil
}

// applyInfra is create's part: it returns the id of the artifact it applied ("" without).
func applyInfra(in planInputs) (string, error) {
	if os.Getenv("PLAN_APPLY") == "true" {
		b, err := os.ReadFile(filepath.Join(os.Getenv("PLAN_ARTIFACT_DIR"), "plan.json"))
		if err != nil {
			return "", fmt.Errorf("PLAN_APPLY=true but no plan artifact: %w", err)
		}
		var a artifact
		if err := json.Unmarshal(b, &a); err != nil {
			return "", fmt.Errorf("plan artifact: %w", err)
		}
		fmt.Printf("testrunner: applying plan artifact %s\n", a.ID)
		if a.Name != "" {
			if err := putConfigMap(a.Name, a.Data); err != nil {
				return "", err
			}
		}
		return a.ID, nil
	}
	if in.Infra != nil {
		if err := putConfigMap(in.Infra.Name, in.Infra.Data); err != nil {
			return "", err
		}
	}
	return "", nil
}

func destroyInfra(in planInputs) error {
	if in.Infra == nil {
		return nil
	}
	status, body, err := kubeDo(http.MethodDelete, "configmaps/"+in.Infra.Name, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusNotFound {
		return fmt.Errorf("delete configmap %s: %d %s", in.Infra.Name, status, body)
	}
	return nil
}

func getConfigMap(name string) (map[string]string, bool, error) {
	status, body, err := kubeDo(http.MethodGet, "configmaps/"+name, nil)
	if err != nil {
		return nil, false, err
	}
	if status == http.StatusNotFound {
		return nil, false, nil
	}
	if status != http.StatusOK {
		return nil, false, fmt.Errorf("get configmap %s: %d %s", name, status, body)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := json.Unmarshal(body, &cm); err != nil {
		return nil, false, err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	return cm.Data, true, nil
}

func putConfigMap(name string, data map[string]string) error {
	obj, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}, "data": data})
	status, body, err := kubeDo(http.MethodPost, "configmaps", obj)
	if err == nil && status == http.StatusConflict {
		status, body, err = kubeDo(http.MethodPut, "configmaps/"+name, obj)
	}
	if err != nil {
		return err
	}
	if status != http.StatusOK && status != http.StatusCreated {
		return fmt.Errorf("write configmap %s: %d %s", name, status, body)
	}
	return nil
}

// kubeDo calls the API of the pod's namespace with the mounted service account token.
func kubeDo(method, rel string, body []byte) (int, []byte, error) {
	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return 0, nil, fmt.Errorf("no service account token (set mount_service_account_token): %w", err)
	}
	ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
	if err != nil {
		return 0, nil, err
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return 0, nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	host := net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	req, err := http.NewRequest(method, "https://"+host+"/api/v1/namespaces/"+strings.TrimSpace(string(ns))+"/"+rel, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
