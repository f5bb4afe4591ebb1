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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code := cli(ctx, args, streams{stdout: &stdout, stderr: &stderr, getenv: os.Getenv})
	t.Logf("containerdriver %s: exit code %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A create, its destroy (the same run id, from the same flags) and a failing create, in a
// namespace of the test's own.
func TestAccRun(t *testing.T) {
	t.Parallel()
	image := brokenImage(t, "good", "1000:1000")
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	common := []string{"--image", image, "--namespace", ns, "--service-account", testcluster.RunnerServiceAccount,
		"--sidecar-image", testcluster.SidecarImage(t), "--secret-variables", writeFile(t, "s.env", "API_TOKEN=tok-0123456789abcdef\n")}

	inputs := writeFile(t, "in.json", `{"name": "Ada"}`)
	code, stdout, stderr := runCLI(t, append([]string{"run", "--inputs", inputs}, common...)...)
	if code != exitOK {
		t.Fatalf("create: exit code %d", code)
	}
	var created runReport
	if err := json.Unmarshal([]byte(stdout), &created); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"greeting": "hello Ada"}, created.Outputs); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"token": containerdriver.MaskedText}, created.SecretOutputs); diff != "" {
		t.Errorf("secret outputs without --show-secrets (-want +got):\n%s", diff)
	}
	if created.Namespace != ns || created.Action != "create" || created.RunID == "" || created.ImageID == "" {
		t.Errorf("report = %+v", created)
	}
	for _, want := range []string{"runner | brokenrunner (good): ACTION=create run " + created.RunID, "containerdriver: create succeeded in "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not show %q live", want)
		}
	}

	// A destroy gets the inputs of the create, as the provider gives it those of the last run.
	code, stdout, _ = runCLI(t, append([]string{"run", "--action", "destroy", "--inputs", inputs, "--show-secrets"}, common...)...)
	var destroyed runReport
	if code != exitOK || json.Unmarshal([]byte(stdout), &destroyed) != nil {
		t.Fatalf("destroy: exit code %d", code)
	}
	if destroyed.RunID != created.RunID {
		t.Errorf("the destroy's run id %s is not the create's %s", destroyed.RunID, created.RunID)
	}

	code, stdout, stderr = runCLI(t, append([]string{"run", "--inputs", writeFile(t, "bad.json", `{"name": ""}`)}, common...)...)
	if code != exitFailed || stdout != "" {
		t.Errorf("a failing run: exit code %d, stdout %q; want %d and nothing", code, stdout, exitFailed)
	}
	for _, want := range []string{"container runner: Error (exit code 2)", "Error file:\n  input \"name\" must be a non-empty string", "Last lines of the runner container's log:", "The runner reported the error above in its ERROR_FILE."} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the failure does not show %q", want)
		}
	}
	if strings.Contains(stderr, "tok-0123456789abcdef") {
		t.Error("stderr shows the secret variable")
	}
}

// --setup without --namespace runs in a namespace of its own and removes it afterwards.
func TestAccRun_Setup(t *testing.T) {
	t.Parallel()
	image := brokenImage(t, "good", "1000:1000")
	code, stdout, stderr := runCLI(t, "run", "--setup", "--image", image, "--sidecar-image", testcluster.SidecarImage(t),
		"--inputs", writeFile(t, "in.json", `{"name": "Ada"}`), "--show-secrets")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	var r runReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if tok, _ := r.SecretOutputs["token"].(string); len(tok) != 24 {
		t.Errorf("--show-secrets: secret outputs = %v, want the 24-character token", r.SecretOutputs)
	}
	if !strings.HasPrefix(r.Namespace, "containerdriver-run-") || !strings.Contains(stderr, "set up namespace "+r.Namespace) {
		t.Errorf("namespace %q was not set up by the command", r.Namespace)
	}
	_, err := testcluster.Client(t).CoreV1().Namespaces().Get(context.Background(), r.Namespace, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s after the run: %v, want it gone", r.Namespace, err)
	}
}

// --action plan runs a plan Job and prints the runner's plan (masked) and summary.
func TestAccRun_Plan(t *testing.T) {
	t.Parallel()
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	code, stdout, stderr := runCLI(t, "run", "--action", "plan", "--plan-destroy", "--image", testcluster.RunnerImage(t), "--namespace", ns,
		"--service-account", testcluster.RunnerServiceAccount, "--sidecar-image", testcluster.SidecarImage(t),
		"--secret-variables", writeFile(t, "s.env", "API_TOKEN=tok-0123456789abcdef\n"),
		"--inputs", writeFile(t, "in.json", `{"plan_echo_env": "API_TOKEN"}`))
	if code != exitOK {
		t.Fatalf("plan: exit code %d\n%s", code, stderr)
	}
	var r runReport
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not the JSON report: %v", err)
	}
	if r.Action != "plan" || r.Plan == nil || r.Plan.Summary.HasChanges || !strings.Contains(r.Plan.Text, "No changes.") ||
		!strings.Contains(r.Plan.Text, "env API_TOKEN = "+containerdriver.MaskedText) || r.Plan.ArtifactBytes == 0 {
		t.Errorf("report = %+v, plan %+v", r, r.Plan)
	}
	if strings.Contains(stdout+stderr, "tok-0123456789abcdef") {
		t.Error("the secret variable is shown")
	}
}
