// Command testrunner is the runner image of the project's cluster tests: a program that
// follows the Container Driver contract and does what its inputs ask, so each test states
// its scenario in the inputs instead of building an image of its own.
//
// Inputs (RESOURCE_INPUTS_FILE, all optional):
//
//	outputs, secret_outputs   objects written to OUTPUTS_FILE / SECRET_OUTPUTS_FILE
//	echo_env                  names of environment variables copied to outputs as "env_<NAME>"
//	echo_files                paths whose content is copied to outputs as "file_<path>"
//	raw_outputs               a string written verbatim to OUTPUTS_FILE (invalid JSON tests)
//	big_output_bytes          adds an output "big" of that many bytes
//	print                     lines printed to stdout
//	fail                      a message written to ERROR_FILE, then exit with exit_code (default 3)
//	fail_on                   the action that fails ("create" or "destroy"; default both)
//	sleep_seconds             sleep before finishing
//	sleep_on                  the action that sleeps ("create" or "destroy"; default both)
//	sleep_after_seconds       sleep after the state was written, before the outputs
//	count_state               increment STATE_PATH/count (on create; destroy only reads it)
//	                          and output it as "count"
//	state_blob_bytes          write that many random bytes to STATE_PATH/blob
//	                          (the blob's SHA-256 is always output as "state_blob_sha256")
//	print_forms               "env:NAME", "file:PATH" or "target" (the content in TARGET_PATH)
//	                          items whose value is printed to stdout as is, base64-encoded,
//	                          JSON-quoted and URL-encoded (masking tests)
//	secret_outputs_reversed_env  output name to the name of an environment variable: its value,
//	                          reversed, is written to SECRET_OUTPUTS_FILE under that name (a
//	                          secret the provider learns only from the run)
//	fail_with_env             the name of an environment variable whose value is appended to
//	                          the fail message in ERROR_FILE (a runner reporting a secret)
//	print_encoded             names of environment variables whose value is printed to stdout as
//	                          hex, HEX, JSON \u escapes and inside longer base64 texts (encoded.go)
//	fail_encoded_env          names of environment variables whose values, in those same forms,
//	                          are appended to the fail message in ERROR_FILE
//	list_secrets              list the Secrets of the pod's namespace with the mounted service
//	                          account token, and output the outcome as "list_secrets":
//	                          "listed <n>", "no token: ..." or "refused: <HTTP status>"
//
// The hostile behaviours (plant, token_lifetime) are described in hostile.go.
//
// With STATE_PATH set, a SIGTERM adds one to STATE_PATH/sigterms before the runner exits
// with 143, and every run outputs that count as "sigterms": the graceful-stop tests read it.
//
// With OPERATION set (the container deployer contract) it reads IMPORTS_PATH instead and
// writes its exports as YAML to EXPORTS_PATH: "operation", every path variable it got, the
// imports, and the target file's content (only its SHA-256, "target_file_sha256", when the
// imports hold "hide_target": true). The imports' print_forms are printed as above.
//
// The outputs always hold "action", "inputs" (the inputs as read) and "uid".
//
// plan.go: the plan action, and the "infra" ConfigMap create, plan and destroy act on.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

type inputs struct {
	Outputs        map[string]any `json:"outputs"`
	SecretOutputs  map[string]any `json:"secret_outputs"`
	EchoEnv        []string       `json:"echo_env"`
	EchoFiles      []string       `json:"echo_files"`
	RawOutputs     *string        `json:"raw_outputs"`
	BigOutputBytes int            `json:"big_output_bytes"`
	Print          []string       `json:"print"`
	Fail           string         `json:"fail"`
	FailOn         string         `json:"fail_on"`
	ExitCode       int            `json:"exit_code"`
	SleepSeconds   float64        `json:"sleep_seconds"`
	SleepOn        string         `json:"sleep_on"`
	SleepAfter     float64        `json:"sleep_after_seconds"`
	CountState     bool           `json:"count_state"`
	StateBlobBytes int            `json:"state_blob_bytes"`
	ListSecrets    bool           `json:"list_secrets"`
	PrintForms     []string       `json:"print_forms"`
	// SecretOutputsReversedEnv maps secret output names to environment variables.
	SecretOutputsReversedEnv map[string]string `json:"secret_outputs_reversed_env"`
	FailWithEnv              string            `json:"fail_with_env"`
	HideTarget               bool              `json:"hide_target"`
	PrintEncoded             []string          `json:"print_encoded"`
	FailEncodedEnv           []string          `json:"fail_encoded_env"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testrunner:", err)
		_ = os.WriteFile(os.Getenv("ERROR_FILE"), []byte(err.Error()), 0o644)
		os.Exit(1)
	}
}

func run() error {
	if op := os.Getenv("OPERATION"); op != "" {
		return deployer(op)
	}
	action := os.Getenv("ACTION")
	fmt.Printf("testrunner: ACTION=%s SCRIPTS_DIRECTORY=%s\n", action, os.Getenv("SCRIPTS_DIRECTORY"))
	raw, err := os.ReadFile(os.Getenv("RESOURCE_INPUTS_FILE"))
	if err != nil {
		return fmt.Errorf("read inputs: %w", err)
	}
	var in inputs
	if err := json.Unmarshal(raw, &in); err != nil {
		return fmt.Errorf("parse inputs: %w", err)
	}
	var anyIn any
	_ = json.Unmarshal(raw, &anyIn)
	pin := readPlanInputs(raw) // plan.go
	if action == "plan" {
		return plan(pin)
	}
	for _, l := range in.Print {
		fmt.Println(l)
	}
	hostile := readHostile(raw)
	printForms(in.PrintForms)
	printEncoded(in.PrintEncoded)
	if dir := os.Getenv("STATE_PATH"); dir != "" {
		countSigterms(dir)
	}
	if in.SleepSeconds > 0 && (in.SleepOn == "" || in.SleepOn == action) {
		time.Sleep(time.Duration(in.SleepSeconds * float64(time.Second)))
	}
	out := map[string]any{"action": action, "inputs": anyIn, "uid": fmt.Sprint(os.Getuid())}
	for k, v := range in.Outputs {
		out[k] = v
	}
	for _, n := range in.EchoEnv {
		out["env_"+n] = os.Getenv(n)
	}
	for _, p := range in.EchoFiles {
		if !filepath.IsAbs(p) {
			p = filepath.Join(os.Getenv("SCRIPTS_DIRECTORY"), p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			out["file_"+p] = "ERROR: " + err.Error()
			continue
		}
		out["file_"+p] = string(b)
	}
	if dir := os.Getenv("STATE_PATH"); dir != "" {
		if err := keepState(dir, in, out); err != nil {
			return err
		}
	}
	if in.ListSecrets {
		out["list_secrets"] = listSecrets()
	}
	if hostile.TokenLifetime {
		out["token_lifetime_seconds"] = tokenLifetime()
	}
	if action == "create" && (pin.Infra != nil || os.Getenv("PLAN_APPLY") != "") {
		id, err := applyInfra(pin)
		if err != nil {
			return err
		}
		out["applied_plan_id"] = id
	}
	if action == "destroy" {
		if err := destroyInfra(pin); err != nil {
			return err
		}
	}
	if in.SleepAfter > 0 {
		// Tests wait for this line to know the state is written.
		fmt.Printf("testrunner: state written, sleeping %gs\n", in.SleepAfter)
		time.Sleep(time.Duration(in.SleepAfter * float64(time.Second)))
	}
	if in.BigOutputBytes > 0 {
		out["big"] = strings.Repeat("x", in.BigOutputBytes)
	}
	if in.Fail != "" && (in.FailOn == "" || in.FailOn == action) {
		fmt.Fprintln(os.Stderr, "testrunner: failing as asked")
		msg := in.Fail
		if in.FailWithEnv != "" {
			msg += " " + os.Getenv(in.FailWithEnv)
		}
		msg += failEncodedText(in.FailEncodedEnv)
		if err := os.WriteFile(os.Getenv("ERROR_FILE"), []byte(msg), 0o644); err != nil {
			return err
		}
		if err := hostile.plant(); err != nil {
			return err
		}
		code := in.ExitCode
		if code == 0 {
			code = 3
		}
		os.Exit(code)
	}
	if in.RawOutputs != nil {
		if err := os.WriteFile(os.Getenv("OUTPUTS_FILE"), []byte(*in.RawOutputs), 0o644); err != nil {
			return err
		}
	} else if err := writeJSON(os.Getenv("OUTPUTS_FILE"), out); err != nil {
		return err
	}
	for name, env := range in.SecretOutputsReversedEnv {
		if in.SecretOutputs == nil {
			in.SecretOutputs = map[string]any{}
		}
		r := []rune(os.Getenv(env))
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		in.SecretOutputs[name] = string(r)
	}
	if in.SecretOutputs != nil {
		if err := writeJSON(os.Getenv("SECRET_OUTPUTS_FILE"), in.SecretOutputs); err != nil {
			return err
		}
	}
	if err := hostile.plant(); err != nil {
		return err
	}
	fmt.Println("testrunner: done")
	return nil
}

// countSigterms makes a SIGTERM leave a trace in the state directory: the count of
// SIGTERMs received, which the next run outputs as "sigterms".
func countSigterms(dir string) {
	file := filepath.Join(dir, "sigterms")
	read := func() int {
		n := 0
		if b, err := os.ReadFile(file); err == nil {
			_, _ = fmt.Sscan(string(b), &n)
		}
		return n
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM)
	go func() {
		<-ch
		_ = os.WriteFile(file, []byte(fmt.Sprint(read()+1)), 0o644)
		fmt.Println("testrunner: SIGTERM, stopping")
		os.Exit(143)
	}()
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func keepState(dir string, in inputs, out map[string]any) error {
	if in.CountState {
		n := 0
		if b, err := os.ReadFile(filepath.Join(dir, "count")); err == nil {
			_, _ = fmt.Sscan(string(b), &n)
		}
		if os.Getenv("ACTION") != "destroy" && os.Getenv("OPERATION") != "DELETE" {
			n++
		}
		if err := os.WriteFile(filepath.Join(dir, "count"), []byte(fmt.Sprint(n)), 0o644); err != nil {
			return fmt.Errorf("write state: %w", err)
		}
		out["count"] = n
	}
	if b, err := os.ReadFile(filepath.Join(dir, "sigterms")); err == nil {
		out["sigterms"] = strings.TrimSpace(string(b))
	}
	if in.StateBlobBytes > 0 {
		blob := make([]byte, in.StateBlobBytes)
		if _, err := rand.Read(blob); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "blob"), blob, 0o644); err != nil {
			return fmt.Errorf("write state: %w", err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "blob")); err == nil {
		sum := sha256.Sum256(b)
		out["state_blob_sha256"] = hex.EncodeToString(sum[:])
	}
	return nil
}

// deployer follows the container deployer contract.
func deployer(op string) error {
	fmt.Printf("testrunner: OPERATION=%s\n", op)
	raw, err := os.ReadFile(os.Getenv("IMPORTS_PATH"))
	if err != nil {
		return fmt.Errorf("read imports: %w", err)
	}
	var imports map[string]any
	if err := json.Unmarshal(raw, &imports); err != nil {
		return fmt.Errorf("parse imports: %w", err)
	}
	out := map[string]any{"operation": op, "imports": imports, "uid": fmt.Sprint(os.Getuid()), "gid": fmt.Sprint(os.Getgid())}
	for _, v := range []string{"IMPORTS_PATH", "EXPORTS_PATH", "TARGET_PATH", "STATE_PATH", "COMPONENT_DESCRIPTOR_PATH", "CONTENT_PATH", "POD_NAME", "POD_NAMESPACE"} {
		out["env_"+v] = os.Getenv(v)
	}
	var in inputs
	_ = json.Unmarshal(raw, &in)
	printForms(in.PrintForms)
	if p := os.Getenv("TARGET_PATH"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("read target: %w", err)
		}
		if in.HideTarget {
			sum := sha256.Sum256(b)
			out["target_file_sha256"] = hex.EncodeToString(sum[:])
		} else {
			out["target_file"] = string(b)
		}
	}
	if dir := os.Getenv("STATE_PATH"); dir != "" {
		if err := keepState(dir, in, out); err != nil {
			return err
		}
	}
	// YAML by hand: the exports are flat strings, numbers and one nested map.
	var b strings.Builder
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		j, _ := json.Marshal(out[k]) // JSON is valid YAML flow syntax
		fmt.Fprintf(&b, "%s: %s\n", k, j)
	}
	return os.WriteFile(os.Getenv("EXPORTS_PATH"), []byte(b.String()), 0o644)
}

// listSecrets does what a malicious runner would: list the namespace's Secrets with the
// service account token, if the pod gave it one.
func listSecrets() string {
	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	token, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		return "no token: " + err.Error()
	}
	ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
	if err != nil {
		return "no namespace: " + err.Error()
	}
	ca, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return "no ca.crt: " + err.Error()
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	host := net.JoinHostPort(os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT"))
	url := "https://" + host + "/api/v1/namespaces/" + strings.TrimSpace(string(ns)) + "/secrets"
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return "error: " + err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := client.Do(req)
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "refused: " + resp.Status
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("listed %d", len(list.Items))
}

// printForms prints values the way careless tools do: raw, base64, JSON and URL-encoded.
func printForms(items []string) {
	for _, it := range items {
		var v string
		switch kind, name, _ := strings.Cut(it, ":"); kind {
		case "env":
			v = os.Getenv(name)
		case "file":
			if !filepath.IsAbs(name) {
				name = filepath.Join(os.Getenv("SCRIPTS_DIRECTORY"), name)
			}
			b, _ := os.ReadFile(name)
			v = string(b)
		case "target":
			var t struct {
				Content string `json:"content"`
			}
			b, _ := os.ReadFile(os.Getenv("TARGET_PATH"))
			_ = json.Unmarshal(b, &t)
			v = t.Content
		}
		j, _ := json.Marshal(v)
		fmt.Printf("%s raw=%s\n", it, v)
		fmt.Printf("%s base64=%s\n", it, base64.StdEncoding.EncodeToString([]byte(v)))
		fmt.Printf("%s json=%s\n", it, j)
		fmt.Printf("%s url=%s\n", it, url.QueryEscape(v))
	}
}
