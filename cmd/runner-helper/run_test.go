package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testModule needs no network and no provider: built-ins only.
const testModule = `
variable "name" {
  type = string
  validation {
    condition     = length(var.name) > 0
    error_message = "The name must not be empty."
  }
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "terraform_data" "greeting" {
  input = "hello ${var.name}"
}

output "greeting" {
  value = terraform_data.greeting.output
}

output "tags" {
  value = var.tags
}

output "password" {
  value     = "pw-${substr(sha256(var.name), 0, 12)}"
  sensitive = true
}
`

// toolBinary finds the real tool or skips: the cluster tooling builds tofu, the machine
// image carries terraform.
func toolBinary(t *testing.T, tool string) string {
	t.Helper()
	candidates := []string{os.Getenv(envToolBinary + "_" + strings.ToUpper(tool))}
	if tool == "tofu" {
		candidates = append(candidates, "/var/tmp/containerdriver-cluster/bin/tofu")
	}
	if p, err := exec.LookPath(tool); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if info, err := os.Stat(c); err == nil && !info.IsDir() {
			return c
		}
	}
	t.Skipf("%s not found (build it with: make tofu, or set %s_%s)", tool, envToolBinary, strings.ToUpper(tool))
	return ""
}

// job is one Container Driver pod's view: a scripts directory, an inputs file, the files
// the helper writes, and a scratch directory standing for the pod's /tmp.
type job struct {
	t        *testing.T
	tool     string
	bin      string
	scripts  string
	inputs   string
	stateDir string
	env      map[string]string
}

func newJob(t *testing.T, tool string, files map[string]string) *job {
	j := &job{t: t, tool: tool, bin: toolBinary(t, tool), scripts: t.TempDir(), stateDir: t.TempDir()}
	for n, c := range files {
		writeFile(t, filepath.Join(j.scripts, n), c)
	}
	j.inputs = filepath.Join(t.TempDir(), "inputs.json")
	j.env = map[string]string{
		"SCRIPTS_DIRECTORY":      j.scripts,
		"RESOURCE_INPUTS_FILE":   j.inputs,
		"OUTPUTS_FILE":           filepath.Join(j.scripts, "outputs.json"),
		"SECRET_OUTPUTS_FILE":    filepath.Join(j.scripts, "secret-outputs.json"),
		"ERROR_FILE":             filepath.Join(j.scripts, "error.txt"),
		"CONTAINERDRIVER_RUN_ID": "0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a",
	}
	return j
}

type result struct {
	code                   int
	stdout, stderr         string
	outputs, secretOutputs map[string]any
	errorFile              string
}

// run runs the helper as one pod would: each run gets a fresh /tmp, so nothing but the
// backend carries state from create to destroy.
func (j *job) run(action string, inputs any, args ...string) result {
	j.t.Helper()
	return j.runEnv(action, inputs, nil, args...)
}

// runEnv is run with more variables (the plan action's).
func (j *job) runEnv(action string, inputs any, extra map[string]string, args ...string) result {
	t := j.t
	t.Helper()
	b, _ := json.Marshal(inputs)
	if err := os.WriteFile(j.inputs, b, 0o444); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"OUTPUTS_FILE", "SECRET_OUTPUTS_FILE", "ERROR_FILE"} {
		os.Remove(j.env[f])
	}
	env := map[string]string{"ACTION": action, "HOME": "/"}
	for k, v := range j.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	cfg, err := parseArgs(append([]string{j.tool, "-binary", j.bin}, args...), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cfg.stdout, cfg.stderr = &stdout, &stderr
	cfg.tmpDir = t.TempDir()
	cfg.saDir = filepath.Join(t.TempDir(), "no-service-account")
	r := result{code: run(context.Background(), cfg), stdout: stdout.String(), stderr: stderr.String()}
	r.outputs = readJSONFile(t, j.env["OUTPUTS_FILE"])
	r.secretOutputs = readJSONFile(t, j.env["SECRET_OUTPUTS_FILE"])
	if b, err := os.ReadFile(j.env["ERROR_FILE"]); err == nil {
		r.errorFile = string(b)
	}
	t.Logf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", j.tool, action, r.code, r.stdout, r.stderr)
	return r
}

// localState selects the local backend, in a directory that outlives the "pods".
func (j *job) localState() []string {
	return []string{"-backend", "local", "-backend-config", "path=" + filepath.Join(j.stateDir, "state.tfstate")}
}

func (j *job) stateResources() int {
	b, err := os.ReadFile(filepath.Join(j.stateDir, "state.tfstate"))
	if err != nil {
		j.t.Fatalf("read the state: %v", err)
	}
	var st struct {
		Resources []any `json:"resources"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		j.t.Fatalf("parse the state: %v", err)
	}
	return len(st.Resources)
}

func readJSONFile(t *testing.T, p string) map[string]any {
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s is not a JSON object: %v\n%s", p, err, b)
	}
	return m
}

var tools = []string{"tofu", "terraform"}

func TestRun_CreateUpdateDestroy(t *testing.T) {
	for _, tool := range tools {
		t.Run(tool, func(t *testing.T) {
			j := newJob(t, tool, map[string]string{"main.tf": testModule})
			// "extra" is an input the module has no variable for: the tool warns, no more.
			r := j.run("create", map[string]any{"name": "world", "tags": map[string]string{"team": "a"}, "extra": 1}, j.localState()...)
			if r.code != 0 {
				t.Fatalf("create exited %d; error file:\n%s", r.code, r.errorFile)
			}
			wantOut := map[string]any{"greeting": "hello world", "tags": map[string]any{"team": "a"}}
			if diff := cmp.Diff(wantOut, r.outputs); diff != "" {
				t.Errorf("outputs (-want +got):\n%s", diff)
			}
			pw, _ := r.secretOutputs["password"].(string)
			if len(r.secretOutputs) != 1 || !strings.HasPrefix(pw, "pw-") {
				t.Errorf("secret outputs = %v, want only the password", r.secretOutputs)
			}
			if strings.Contains(r.stdout+r.stderr, pw) {
				t.Errorf("the secret output %q was printed to the log", pw)
			}
			if !strings.Contains(r.stdout+r.stderr, `declare a variable named "extra"`) {
				t.Error("the log does not say that the input extra went unused")
			}
			if j.stateResources() != 1 {
				t.Errorf("the state holds %d resources after create, want 1", j.stateResources())
			}

			// An update is a create with other inputs on the same state.
			r = j.run("create", map[string]any{"name": "again"}, j.localState()...)
			if r.code != 0 {
				t.Fatalf("update exited %d; error file:\n%s", r.code, r.errorFile)
			}
			if got := r.outputs["greeting"]; got != "hello again" {
				t.Errorf("greeting after update = %v, want %q", got, "hello again")
			}
			if !strings.Contains(r.stdout, "0 to add, 1 to change, 0 to destroy") {
				t.Error("the update did not update the one resource of the state (was the state found?)")
			}

			r = j.run("destroy", map[string]any{"name": "again"}, j.localState()...)
			if r.code != 0 {
				t.Fatalf("destroy exited %d; error file:\n%s", r.code, r.errorFile)
			}
			if !strings.Contains(r.stdout, "1 destroyed") {
				t.Error("destroy did not destroy the resource of the state")
			}
			if len(r.outputs) != 0 || r.outputs == nil || len(r.secretOutputs) != 0 || r.secretOutputs == nil {
				t.Errorf("after destroy outputs = %v, secret outputs = %v, want {} and {}", r.outputs, r.secretOutputs)
			}
			if j.stateResources() != 0 {
				t.Errorf("the state holds %d resources after destroy, want 0", j.stateResources())
			}
		})
	}
}

func TestRun_ToolFailure(t *testing.T) {
	for _, tool := range tools {
		t.Run(tool, func(t *testing.T) {
			j := newJob(t, tool, map[string]string{"main.tf": testModule})
			r := j.run("create", map[string]any{"name": ""}, j.localState()...)
			if r.code != 1 {
				t.Errorf("exit code = %d, want the tool's 1", r.code)
			}
			for _, want := range []string{tool + " apply failed (exit code 1)", "The name must not be empty."} {
				if !strings.Contains(r.errorFile, want) {
					t.Errorf("error file does not contain %q:\n%s", want, r.errorFile)
				}
			}
			if strings.Contains(r.errorFile, "\x1b[") {
				t.Errorf("error file holds ANSI escapes:\n%q", r.errorFile)
			}
			if !strings.Contains(r.stderr, "The name must not be empty.") {
				t.Error("the tool's error did not reach the container log")
			}
			if r.outputs != nil {
				t.Errorf("a failed create wrote outputs: %v", r.outputs)
			}
		})
	}
}

// A module that declares its own backend keeps it; the helper adds none.
func TestRun_ModuleBackend(t *testing.T) {
	for _, tool := range tools {
		t.Run(tool, func(t *testing.T) {
			j := newJob(t, tool, nil)
			state := filepath.Join(j.stateDir, "state.tfstate")
			writeFile(t, filepath.Join(j.scripts, "infra", "main.tf"), testModule)
			writeFile(t, filepath.Join(j.scripts, "infra", "backend.tf"), "terraform {\n  backend \"local\" {\n    path = \""+state+"\"\n  }\n}\n")
			r := j.run("create", map[string]any{"name": "own"}, "-chdir", "infra")
			if r.code != 0 {
				t.Fatalf("create exited %d; error file:\n%s", r.code, r.errorFile)
			}
			if _, err := os.Stat(filepath.Join(j.scripts, "infra", overrideFileName)); err == nil {
				t.Error("the helper wrote a backend override over the module's own backend")
			}
			if j.stateResources() != 1 {
				t.Errorf("the module's backend holds %d resources, want 1", j.stateResources())
			}
			if r.outputs["greeting"] != "hello own" {
				t.Errorf("outputs = %v", r.outputs)
			}
		})
	}
}

// Without a namespace (not in a pod) the default kubernetes backend cannot work: the helper
// says so before running the tool.
func TestRun_KubernetesBackendOutsideAPod(t *testing.T) {
	j := newJob(t, "tofu", map[string]string{"main.tf": testModule})
	r := j.run("create", map[string]any{"name": "x"})
	if r.code != 1 || !strings.Contains(r.errorFile, "cannot tell the pod's namespace") {
		t.Errorf("exit %d, error file %q: want a clear message about the namespace", r.code, r.errorFile)
	}
}

func TestRun_EmptyScriptsDirectory(t *testing.T) {
	j := newJob(t, "tofu", nil)
	r := j.run("create", map[string]any{}, j.localState()...)
	if r.code != 1 || !strings.Contains(r.errorFile, "no .tf or .tf.json file") {
		t.Errorf("exit %d, error file %q: want a message about the missing module", r.code, r.errorFile)
	}
}

// The files the driver mounts are read-only and sit in directories the kubelet made as
// root; the helper then works on a copy and still finds relative module sources.
func TestRun_ReadOnlyModuleDirectory(t *testing.T) {
	j := newJob(t, "tofu", nil)
	writeFile(t, filepath.Join(j.scripts, "infra", "main.tf"), "module \"m\" {\n  source = \"../modules/m\"\n  name = var.name\n}\nvariable \"name\" {}\noutput \"greeting\" {\n  value = module.m.greeting\n}\n")
	writeFile(t, filepath.Join(j.scripts, "modules", "m", "main.tf"), testModule)
	ro := filepath.Join(j.scripts, "infra")
	old := isWritable
	isWritable = func(dir string) bool { return dir != ro && old(dir) }
	t.Cleanup(func() { isWritable = old })
	r := j.run("create", map[string]any{"name": "copy"}, append(j.localState(), "-chdir", "infra")...)
	if r.code != 0 {
		t.Fatalf("create exited %d; error file:\n%s", r.code, r.errorFile)
	}
	if r.outputs["greeting"] != "hello copy" {
		t.Errorf("outputs = %v", r.outputs)
	}
	if !strings.Contains(r.stdout, "working on a copy") {
		t.Error("the log does not say the helper worked on a copy")
	}
	if _, err := os.Stat(filepath.Join(ro, tfvarsFileName)); err == nil {
		t.Error("the helper wrote into the read-only directory")
	}
}

func TestSplitOutputs(t *testing.T) {
	plain, secret, err := splitOutputs([]byte(`{
  "a": {"sensitive": false, "type": "string", "value": "x"},
  "n": {"sensitive": false, "type": "number", "value": 3},
  "o": {"sensitive": false, "type": ["object", {"k": "string"}], "value": {"k": "v"}},
  "nil": {"sensitive": false, "type": "dynamic"},
  "p": {"sensitive": true, "type": "string", "value": "s3cret"}
}`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range plain {
		got["plain."+k] = string(v)
	}
	for k, v := range secret {
		got["secret."+k] = string(v)
	}
	want := map[string]string{"plain.a": `"x"`, "plain.n": `3`, "plain.o": `{"k": "v"}`, "plain.nil": "null", "secret.p": `"s3cret"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	// OpenTofu prints CLI configuration warnings to stdout even with -json.
	plain, _, err = splitOutputs([]byte("\nWarning: Unable to open CLI configuration file\n\n{\n  \"a\": {\"value\": 1}\n}\n"))
	if err != nil || string(plain["a"]) != "1" {
		t.Errorf("outputs after a warning = %v, %v", plain, err)
	}
	if _, _, err := splitOutputs([]byte("not json")); err == nil {
		t.Error("splitOutputs accepted output that is not JSON")
	}
}

// The default backend: a kubernetes backend override keyed by the run id, in the pod's
// namespace; nothing when the module has its own backend; an explicit -backend wins.
func TestConfigureBackend(t *testing.T) {
	sa := fakeServiceAccount(t, nil, "team-a")
	for _, tc := range []struct {
		name        string
		backend     string
		stateNS     string
		suffix      string
		ownBackend  bool
		want        string // the override file, "" for none
		wantManaged bool
		wantErr     string
	}{
		{
			name:        "default",
			want:        `{"terraform":{"backend":{"kubernetes":{"in_cluster_config":true,"namespace":"team-a","secret_suffix":"0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a"}}}}`,
			wantManaged: true,
		},
		{
			name: "namespace and suffix given", stateNS: "states", suffix: "shared-db",
			want:        `{"terraform":{"backend":{"kubernetes":{"in_cluster_config":true,"namespace":"states","secret_suffix":"shared-db"}}}}`,
			wantManaged: true,
		},
		{name: "bad suffix", suffix: "db-2", wantErr: "must not end with '-' and a number"},
		{name: "the module's own backend", ownBackend: true},
		{name: "another backend", backend: "s3", want: `{"terraform":{"backend":{"s3":{}}}}`},
		{
			name: "kubernetes over the module's own", backend: "kubernetes", ownBackend: true,
			want:        `{"terraform":{"backend":{"kubernetes":{"in_cluster_config":true,"namespace":"team-a","secret_suffix":"0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a"}}}}`,
			wantManaged: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// A stale override from an earlier run in the same directory never survives.
			writeFile(t, filepath.Join(dir, overrideFileName), `{"stale": true}`)
			h := &helper{dir: dir, cfg: &config{
				backend: tc.backend, stateNS: tc.stateNS, stateSuffix: tc.suffix, saDir: sa,
				runID: "0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a", getenv: func(string) string { return "" },
				stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
			}}
			err := h.configureBackend(&module{dir: dir, ownBackend: tc.ownBackend})
			if endsWithError(t, err, tc.wantErr) {
				return
			}
			got := ""
			if b, err := os.ReadFile(filepath.Join(dir, overrideFileName)); err == nil {
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatalf("override file is not JSON: %v", err)
				}
				c, _ := json.Marshal(v)
				got = string(c)
			}
			if got != tc.want {
				t.Errorf("override file = %s\nwant %s", got, tc.want)
			}
			if h.managedState != tc.wantManaged {
				t.Errorf("managedState = %v, want %v", h.managedState, tc.wantManaged)
			}
		})
	}
}

// endsWithError checks a table case's error: one containing want when want is set (the
// case ends there: endsWithError is true), none otherwise.
func endsWithError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	return true
}
