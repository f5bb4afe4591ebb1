package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseArgs(t *testing.T) {
	base := map[string]string{
		"ACTION":              "create",
		"SCRIPTS_DIRECTORY":   "/work",
		"OUTPUTS_FILE":        "/work/outputs.json",
		"SECRET_OUTPUTS_FILE": "/work/secret-outputs.json",
		"ERROR_FILE":          "/work/error.txt",
	}
	with := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	type want struct {
		workingDir, backend, stateNS, stateSuffix string
		backendConfig                             []string
		keepState                                 bool
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     func(string) string
		want    want
		wantErr string
	}{
		{name: "defaults", args: []string{"tofu"}, env: with()},
		{
			name: "environment",
			args: []string{"terraform"},
			env: with("TF_WORKING_DIR", "infra", "TF_BACKEND", "s3", "TF_BACKEND_CONFIG", "bucket=b\n\n key=k \n",
				"TF_STATE_NAMESPACE", "ns", "TF_STATE_SECRET_SUFFIX", "abc", "TF_KEEP_STATE", "true"),
			want: want{workingDir: "infra", backend: "s3", stateNS: "ns", stateSuffix: "abc", backendConfig: []string{"bucket=b", "key=k"}, keepState: true},
		},
		{
			name: "flags win over the environment",
			args: []string{"tofu", "-chdir", "b", "-backend=local", "-backend-config", "path=/x", "-keep-state=false"},
			env:  with("TF_WORKING_DIR", "a", "TF_BACKEND", "s3", "TF_BACKEND_CONFIG", "bucket=b", "TF_KEEP_STATE", "1"),
			want: want{workingDir: "b", backend: "local", backendConfig: []string{"path=/x"}},
		},
		{name: "auto is the default backend", args: []string{"tofu", "-backend=auto"}, env: with()},
		{name: "no tool", args: nil, env: with(), wantErr: "first argument must be tofu or terraform"},
		{name: "unknown tool", args: []string{"pulumi"}, env: with(), wantErr: "first argument must be tofu or terraform"},
		{name: "not in a job", args: []string{"tofu"}, env: func(string) string { return "" }, wantErr: "ACTION, SCRIPTS_DIRECTORY, OUTPUTS_FILE, SECRET_OUTPUTS_FILE not set"},
		{name: "bad action", args: []string{"tofu"}, env: with("ACTION", "update"), wantErr: `ACTION="update"`},
		{name: "escaping working dir", args: []string{"tofu", "-chdir", "../etc"}, env: with(), wantErr: "must stay inside SCRIPTS_DIRECTORY"},
		{name: "bad keep", args: []string{"tofu"}, env: with("TF_KEEP_STATE", "maybe"), wantErr: "is not a boolean"},
		{name: "bad backend", args: []string{"tofu", "-backend", "S3; rm"}, env: with(), wantErr: "not a backend type name"},
		{name: "stray argument", args: []string{"tofu", "apply"}, env: with(), wantErr: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseArgs(tc.args, tc.env)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{cfg.workingDir, cfg.backend, cfg.stateNS, cfg.stateSuffix, cfg.backendConfig, cfg.keepState}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStateSecretSuffix(t *testing.T) {
	for _, tc := range []struct {
		runID, want string // want "": hashed
	}{
		{"0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a", "0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a"},
		// Would read as chunk 123456789012 of a Secret to Terraform's backend.
		{"0c1f9f4e-7d3a-4b8e-9a51-123456789012", ""},
		{"default/my-run", ""},
		{strings.Repeat("a", 64), ""},
	} {
		got := stateSecretSuffix(tc.runID)
		if err := validSuffix(got); err != nil {
			t.Errorf("stateSecretSuffix(%q) = %q: %v", tc.runID, got, err)
		}
		if tc.want != "" {
			if got != tc.want {
				t.Errorf("stateSecretSuffix(%q) = %q, want %q", tc.runID, got, tc.want)
			}
			continue
		}
		if !strings.HasPrefix(got, "run-") || len(got) != 24 {
			t.Errorf("stateSecretSuffix(%q) = %q, want run-<20 hex>", tc.runID, got)
		}
		if again := stateSecretSuffix(tc.runID); again != got {
			t.Errorf("stateSecretSuffix(%q) is not stable: %q then %q", tc.runID, got, again)
		}
	}
	if stateSecretSuffix("a-b") == stateSecretSuffix("a_b") {
		t.Error("run ids that differ must not share a state Secret")
	}
	for _, bad := range []string{"", "Upper", "state-1", strings.Repeat("x", 64), "-x"} {
		if validSuffix(bad) == nil {
			t.Errorf("validSuffix(%q) accepted an invalid suffix", bad)
		}
	}
}

func TestScanModule(t *testing.T) {
	for _, tc := range []struct {
		name        string
		files       map[string]string
		wantBackend bool
		wantErr     string
	}{
		{
			name: "no backend",
			files: map[string]string{
				"main.tf": "variable \"name\" {\n  type = string\n}\n" +
					"# backend \"s3\" {\n// cloud {\nterraform {\n  required_version = \">= 1.6\"\n}\n",
				"README.md": "backend \"s3\" {\n",
			},
		},
		{name: "backend block", files: map[string]string{"backend.tf": "terraform {\n  backend \"s3\" {\n  }\n}\n"}, wantBackend: true},
		{name: "cloud block", files: map[string]string{"main.tf": "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n"}, wantBackend: true},
		{
			name: "json",
			files: map[string]string{
				"main.tf.json": `{"terraform": [{"backend": {"local": {}}}], "variable": {"a": {}, "b": {"default": 1}}}`,
				"more.tf.json": `{"variable": [{"c": {}}]}`,
			},
			wantBackend: true,
		},
		{name: "the helper's own override is not the module's", files: map[string]string{"main.tf": "", overrideFileName: `{"terraform": {"backend": {"kubernetes": {}}}}`}},
		{name: "empty", files: map[string]string{"notes.txt": "x"}, wantErr: "no .tf or .tf.json file"},
		{name: "bad json", files: map[string]string{"main.tf.json": "{"}, wantErr: "main.tf.json: not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tc.files {
				writeFile(t, filepath.Join(dir, n), c)
			}
			m, err := scanModule(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.ownBackend != tc.wantBackend {
				t.Errorf("ownBackend = %v, want %v", m.ownBackend, tc.wantBackend)
			}
		})
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

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(16)
	for _, s := range []string{"line one\n", "line two\n", "line three\n"} {
		if _, err := tb.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := tb.String(), "[...]\nline three\n"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	short := newTailBuffer(100)
	_, _ = short.Write([]byte("all of it"))
	if got := short.String(); got != "all of it" {
		t.Errorf("tail = %q, want everything", got)
	}
	if got, want := stripANSI("\x1b[31mError:\x1b[0m \x1b[1mbad\x1b[0m\x1b]8;;http://x\x07link"), "Error: badlink"; got != want {
		t.Errorf("stripANSI = %q, want %q", got, want)
	}
}

func TestCopyTree(t *testing.T) {
	src, dst := t.TempDir(), filepath.Join(t.TempDir(), "copy")
	writeFile(t, filepath.Join(src, "infra", "main.tf"), "x")
	writeFile(t, filepath.Join(src, "infra", ".terraform", "stale"), "x")
	writeFile(t, filepath.Join(src, "modules", "m", "m.tf"), "y")
	writeFile(t, filepath.Join(src, "outputs.json"), "{}")
	writeFile(t, filepath.Join(src, ".containerdriver", "data"), "x")
	if err := os.Symlink("../modules", filepath.Join(src, "infra", "mods")); err != nil {
		t.Fatal(err)
	}
	if err := copyTree(src, dst); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dst, p)
		if !d.IsDir() {
			got = append(got, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"infra/main.tf", "infra/mods", "modules/m/m.tf"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("copied files (-want +got):\n%s", diff)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "infra", "mods", "m", "m.tf")); err != nil || string(b) != "y" {
		t.Errorf("relative symlink into the copy does not resolve: %q, %v", b, err)
	}
}

func TestReadInputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "inputs.json")
	writeFile(t, p, `{"a": 1, "b": {"c": [true]}}`)
	in, err := readInputs(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(in)
	if string(b) != `{"a":1,"b":{"c":[true]}}` {
		t.Errorf("inputs = %s", b)
	}
	writeFile(t, p, `[1]`)
	if _, err := readInputs(p); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("a JSON array was accepted as inputs: %v", err)
	}
	if _, err := readInputs(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing inputs file gave %v", err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
