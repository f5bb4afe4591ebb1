package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseRunArgs(t *testing.T) {
	o, err := parseRunArgs([]string{
		"--image", "containerdriver.local/shell-runner:dev", "--action", "destroy", "--inputs", "in.json",
		"--secret-variables", "secrets.env", "--variable", "TF_WORKING_DIR=infra/app", "--variable", "A=b=c",
		"--files", "module", "--source", "https://example.com/org/repo.git", "--ref", "refs/tags/v1", "--source-path", "app",
		"--namespace", "ns1", "--service-account", "sa1", "--setup",
		"--rule", "secrets=get,list", "--rule", "leases.coordination.k8s.io,deployments.apps/scale=get,update",
		"--keep", "--show-secrets", "--timeout", "3m", "--run-id", "my-run",
	}, env(map[string]string{envSidecarImage: "containerdriver.local/sidecars:dev"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := &runOptions{
		commonOptions: commonOptions{
			image: "containerdriver.local/shell-runner:dev", inputsFile: "in.json", secretVarsFile: "secrets.env",
			variables: map[string]string{"TF_WORKING_DIR": "infra/app", "A": "b=c"},
			filesDir:  "module", sharedDirectory: "/workspace",
			sourceURL: "https://example.com/org/repo.git", sourceRef: "refs/tags/v1", sourcePath: "app",
			namespace: "ns1", serviceAccount: "sa1", setup: true,
			rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}},
				{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "update"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments/scale"}, Verbs: []string{"get", "update"}},
			},
			sidecarImage: "containerdriver.local/sidecars:dev", timeout: 3 * time.Minute, runID: "my-run",
		},
		action: "destroy", keep: true, showSecrets: true,
	}
	if diff := cmp.Diff(want, o, cmp.AllowUnexported(runOptions{}, commonOptions{})); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}

func TestParseRunArgs_Defaults(t *testing.T) {
	o, err := parseRunArgs([]string{"--image", "example.com/r:1"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.action != "create" || o.sharedDirectory != "/workspace" || o.timeout != 15*time.Minute || o.setup || o.sidecarImage != "" {
		t.Errorf("defaults: action %q, shared directory %q, timeout %v, setup %v, sidecar %q", o.action, o.sharedDirectory, o.timeout, o.setup, o.sidecarImage)
	}
	if got := sidecarImage(o.sidecarImage); got != containerdriver.DefaultSidecarImageRepository+":latest" {
		t.Errorf("the sidecar image of a development build = %q, want the latest release", got)
	}
}

func TestParseArgs_Errors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check bool
		args  []string
		want  string
	}{
		{"no image", false, []string{"--action", "create"}, "--image is required"},
		{"bad image", false, []string{"--image", "Not An Image"}, "--image:"},
		{"bad action", false, []string{"--image", "a.b/c:1", "--action", "apply"}, `--action "apply" is neither create nor destroy`},
		{"ref without source", false, []string{"--image", "a.b/c:1", "--ref", "main"}, "need --source"},
		{"rule without setup", false, []string{"--image", "a.b/c:1", "--rule", "secrets=get"}, "--rule needs --setup"},
		{"bad rule", false, []string{"--image", "a.b/c:1", "--setup", "--rule", "secrets"}, "is not RESOURCE[.GROUP]=VERB"},
		{"bad variable", false, []string{"--image", "a.b/c:1", "--variable", "NOEQUALS"}, `"NOEQUALS" is not KEY=VALUE`},
		{"positional", false, []string{"--image", "a.b/c:1", "extra"}, `unexpected argument "extra"`},
		{"unknown flag", true, []string{"--image", "a.b/c:1", "--nope"}, "flag provided but not defined: -nope"},
		{"bad state label", true, []string{"--image", "a.b/c:1", "--state-secret-label", "not a key!"}, "--state-secret-label"},
		{"zero timeout", true, []string{"--image", "a.b/c:1", "--timeout", "0s"}, "--timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.check {
				_, err = parseCheckArgs(tc.args, env(nil), &bytes.Buffer{})
			} else {
				_, err = parseRunArgs(tc.args, env(nil), &bytes.Buffer{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParseCheckArgs(t *testing.T) {
	o, err := parseCheckArgs([]string{"--image", "a.b/c:1", "--update-inputs", "u.json", "--invalid-inputs", "i.json",
		"--state-secret-label", "tfstateSecretSuffix", "--junit", "out.xml", "--rule", "secrets=delete"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !o.setup {
		t.Error("check without --namespace must set up a namespace of its own")
	}
	if o.updateInputsFile != "u.json" || o.invalidInputsFile != "i.json" || o.stateSecretLabel != "tfstateSecretSuffix" || o.junitFile != "out.xml" {
		t.Errorf("options = %+v", o)
	}
	o, err = parseCheckArgs([]string{"--image", "a.b/c:1", "--namespace", "mine"}, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.setup {
		t.Error("check with --namespace and without --setup must use the namespace as it is")
	}
}

func TestCLI_UsageAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		out, err string
	}{
		{nil, exitUsage, "", "Usage:"},
		{[]string{"version"}, exitOK, "containerdriver dev", ""},
		{[]string{"frobnicate"}, exitUsage, "", `unknown command "frobnicate"`},
		{[]string{"run"}, exitUsage, "", "containerdriver run: --image is required"},
		{[]string{"check", "-h"}, exitOK, "", "--invalid-inputs"},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(context.Background(), tc.args, streams{stdout: &stdout, stderr: &stderr, getenv: env(nil)})
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) || !strings.Contains(stderr.String(), tc.err) {
			t.Errorf("cli(%q) = %d, stdout %q, stderr %q; want %d, %q, %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.out, tc.err)
		}
	}
}

func TestParseSecretVariables(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[string]string
		err      string
	}{
		{"lines", "# a comment\n\nAPI_TOKEN=abc=def\nexport OTHER= spaced \r\nEMPTY=\n", map[string]string{"API_TOKEN": "abc=def", "OTHER": " spaced ", "EMPTY": ""}, ""},
		{"json", ` {"API_TOKEN": "abc", "B": ""}`, map[string]string{"API_TOKEN": "abc", "B": ""}, ""},
		{"json not strings", `{"N": 3}`, nil, `"N" is a number; every value must be a string`},
		{"bad json", `{"N": `, nil, "not a JSON object"},
		{"bad line", "API_TOKEN=abc\nhunter2\n", nil, "line 2 is not KEY=VALUE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSecretVariables("f", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error shows the line's content: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseJSONObject(t *testing.T) {
	got, err := parseJSONObject("inputs", "in.json", []byte(`{"name": "Ada", "big": 12345678901234567890, "nested": {"a": [1, true]}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	if want := `{"big":12345678901234567890,"name":"Ada","nested":{"a":[1,true]}}`; string(b) != want {
		t.Errorf("inputs re-encoded = %s, want %s (numbers kept as written)", b, want)
	}
	for in, want := range map[string]string{
		`["a"]`:      "must be a JSON object",
		`"a string"`: "not a string",
		`{} {}`:      "more than one JSON value",
		`{"a": }`:    "not JSON",
	} {
		_, err := parseJSONObject("inputs", "in.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), "--inputs in.json") || !strings.Contains(err.Error(), want) {
			t.Errorf("parseJSONObject(%s) error = %v, want %q naming the flag and file", in, err, want)
		}
	}
}

func TestReadFilesDir(t *testing.T) {
	dir := t.TempDir()
	write := func(p, content string) {
		t.Helper()
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.tf", "a")
	write("modules/x/main.tf", "b")
	write(".terraform/providers/p", "cache")
	write(".git/HEAD", "ref")
	if err := os.Symlink("main.tf", filepath.Join(dir, "link.tf")); err != nil {
		t.Fatal(err)
	}
	got, err := readFilesDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"main.tf": "a", "modules/x/main.tf": "b", "link.tf": "a"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	write("bin", "\xff\xfe")
	if _, err := readFilesDir(dir); err == nil || !strings.Contains(err.Error(), "not UTF-8") {
		t.Errorf("a binary file: error = %v, want not UTF-8", err)
	}
	if _, err := readFilesDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Errorf("an empty directory: error = %v, want no files", err)
	}
}

func TestDefaultRunID(t *testing.T) {
	a := defaultRunID(&commonOptions{image: "example.com/r:1", filesDir: "m"})
	if b := defaultRunID(&commonOptions{image: "example.com/r@sha256:" + strings.Repeat("a", 64), filesDir: "m"}); a != b {
		t.Errorf("the run id changed with the image's tag or digest: %s, %s", a, b)
	}
	if b := defaultRunID(&commonOptions{image: "example.com/r:1", filesDir: "other"}); a == b {
		t.Errorf("two files directories share the run id %s", a)
	}
	if len(a) != 36 || strings.Count(a, "-") != 4 || strings.Trim(a[24:], "0123456789") == "" {
		t.Errorf("run id %q is not a UUID-shaped id ending in a letter", a)
	}
}

func TestDescribeValidation(t *testing.T) {
	spec := &containerdriver.RunSpec{RunID: "x", Job: containerdriver.JobSpec{Image: "a.b/c:1", SharedDirectory: "/workspace",
		SecretVariables: map[string]string{"ACTION": "x"}}, Files: map[string]string{"../x": "y"}}
	msg, ok := describeValidation(spec.Validate())
	if !ok {
		t.Fatal("not a validation error")
	}
	for _, want := range []string{`--secret-variables ["ACTION"]: is set by the driver`, `--files ["../x"]:`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not contain %q", msg, want)
		}
	}
}

func TestKubeconfigPath(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kubeconfig"), 0o755); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(dir, "kubeconfig", "admin.kubeconfig")
	if err := os.WriteFile(local, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"f", map[string]string{envKubeconfig: "k"}, "f"},
		{"", map[string]string{envKubeconfig: "k", envClusterDir: dir}, "k"},
		{"", map[string]string{envClusterDir: dir}, local},
	} {
		if got, err := kubeconfigPath(tc.flag, env(tc.env)); err != nil || got != tc.want {
			t.Errorf("kubeconfigPath(%q, %v) = %q, %v; want %q", tc.flag, tc.env, got, err, tc.want)
		}
	}
	if _, err := kubeconfigPath("", env(map[string]string{envClusterDir: t.TempDir()})); err == nil || !strings.Contains(err.Error(), "make cluster-up") {
		t.Errorf("no cluster: error = %v, want the hint", err)
	}
}

func TestRunHint(t *testing.T) {
	for _, tc := range []struct {
		e    containerdriver.RunError
		want string
	}{
		{containerdriver.RunError{Container: "runner", ErrorFile: "x"}, "in its ERROR_FILE"},
		{containerdriver.RunError{Container: "runner"}, "without writing ERROR_FILE"},
		{containerdriver.RunError{Container: "pre-checks"}, "run with --setup"},
		{containerdriver.RunError{Container: "git-init"}, "check --source, --ref"},
		{containerdriver.RunError{Reason: "Unschedulable"}, "Run again with --keep"},
		{containerdriver.RunError{Reason: "Timeout", Kept: true}, "The Job was kept (--keep)."},
	} {
		if got := runHint(&tc.e); !strings.Contains(got, tc.want) {
			t.Errorf("runHint(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}
