package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// brokenImage builds the image of ./internal/brokenrunner whose one mistake is mode, with
// user as its USER ("" for none).
func brokenImage(t *testing.T, mode, user string) string {
	t.Helper()
	testcluster.RestConfig(t) // skip (or fail) first when there is no cluster
	bin := testcluster.GoBinary(t, "./cmd/containerdriver/internal/brokenrunner")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	tag := "test-" + mode + "-" + shortHash(b)
	if user == "" {
		tag += "-root"
	}
	ref := testcluster.ImageRegistry + "/brokenrunner:" + tag
	// Parallel tests share an image: it is written to one tarball per name, once.
	once, _ := brokenImages.LoadOrStore(ref, &sync.Once{})
	once.(*sync.Once).Do(func() {
		testcluster.BuildImage(t, ref, imagebuild.Spec{
			Files:      []imagebuild.File{{Path: "/brokenrunner", Source: bin, Mode: 0o755}},
			Dirs:       []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
			Entrypoint: []string{"/brokenrunner", mode},
			User:       user,
		})
	})
	return ref
}

var brokenImages sync.Map

// checkArgs are the flags every broken image is checked with: a runner that needs "name".
func checkArgs(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return []string{
		"--inputs", write("inputs.json", `{"name": "Ada"}`),
		"--update-inputs", write("update.json", `{"name": "Grace"}`),
		"--invalid-inputs", write("invalid.json", `{"name": ""}`),
		"--secret-variables", write("secrets.env", "API_TOKEN=tok-0123456789abcdef\n"),
		// brokenrunner implements the plan action, with its state in the state directory.
		"--plan", "--state-path", "/state",
	}
}

// runCheck runs containerdriver check in process on image, in a namespace of the test's
// own with its "runner" service account, and returns the exit code, the report and the
// statuses by check.
func runCheck(t *testing.T, image string, extra ...string) (int, string, map[string]string) {
	t.Helper()
	return runCheckArgs(t, image, append(checkArgs(t), extra...))
}

// runCheckArgs is runCheck with flags of the caller's instead of checkArgs.
func runCheckArgs(t *testing.T, image string, flags []string) (int, string, map[string]string) {
	t.Helper()
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	// --setup gives a service account of the check's own the rights a state_path needs.
	args := append([]string{"check", "--image", image, "--namespace", ns, "--setup", "--service-account", "checker",
		"--sidecar-image", testcluster.SidecarImage(t), "--timeout", "3m",
		// The test runner keeps (or leaves) its state in a ConfigMap through the API.
		"--mount-service-account-token"}, flags...)
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	code := cli(ctx, args, streams{stdout: &stdout, stderr: &stderr, getenv: os.Getenv})
	t.Logf("containerdriver check %s: exit code %d\n%s", image, code, stdout.String())
	if code != exitOK && code != exitFailed {
		t.Fatalf("exit code %d:\n%s", code, stderr.String())
	}
	statuses := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^(PASS|FAIL|WARN|SKIP) +([a-z-]+) `).FindAllStringSubmatch(stdout.String(), -1) {
		statuses[m[2]] = m[1]
	}
	if len(statuses) != len(checkOrder) {
		t.Errorf("the report has %d checks, want %d", len(statuses), len(checkOrder))
	}
	// Whatever the image did, the check removes the runs' Jobs and pods.
	jobs, err := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items)+len(pods.Items) > 0 {
		t.Errorf("the check left %d Jobs and %d pods in %s", len(jobs.Items), len(pods.Items), ns)
	}
	return code, stdout.String(), statuses
}

func failed(statuses map[string]string) []string {
	var out []string
	for id, st := range statuses {
		if st == "FAIL" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// TestAccCheck_BrokenImages checks images that break the contract in one way each, and
// wants the check that names that way, and only it, to fail.
func TestAccCheck_BrokenImages(t *testing.T) {
	for _, tc := range []struct {
		mode, user string
		wantFailed []string
		evidence   string
	}{
		{"non-object-outputs", "1000:1000", []string{checkOutputsJSON}, "/workspace/outputs.json is not a valid JSON object: it holds an array"},
		{"echo-secret", "1000:1000", []string{checkNoSecretInLog}, "API_TOKEN=(sensitive value)"},
		{"not-idempotent", "1000:1000", []string{checkIdempotent}, `output "id": "`},
		{"leaves-state", "1000:1000", []string{checkLeavesNothing}, "ConfigMap brokenrunner-"},
		{"good", "", []string{checkNonRoot}, "image will run as root"},
		{"plan-changes-state", "1000:1000", []string{checkPlanNoChange}, "[plan #2 (of the update)] ConfigMap brokenrunner-plan-"},
		{"plan-ignores-artifact", "1000:1000", []string{checkPlanApply}, "a create handed a stale artifact succeeded"},
	} {
		t.Run(tc.mode+map[bool]string{true: "-as-root", false: ""}[tc.user == ""], func(t *testing.T) {
			t.Parallel()
			image := brokenImage(t, tc.mode, tc.user)
			code, report, statuses := runCheck(t, image, "--rule", "configmaps=update,delete")
			if code != exitFailed {
				t.Errorf("exit code %d, want %d", code, exitFailed)
			}
			if diff := cmp.Diff(tc.wantFailed, failed(statuses)); diff != "" {
				t.Errorf("failed checks (-want +got):\n%s", diff)
			}
			if !strings.Contains(report, tc.evidence) {
				t.Errorf("the report does not show the evidence %q", tc.evidence)
			}
			if strings.Contains(report, "tok-0123456789abcdef") {
				t.Error("the report shows the secret variable's value")
			}
		})
	}
}

// TestAccCheck_GoodImage is the same runner without a mistake: every check passes, so the
// failures above come from the mistakes.
func TestAccCheck_GoodImage(t *testing.T) {
	t.Parallel()
	image := brokenImage(t, "good", "1000:1000")
	junit := filepath.Join(t.TempDir(), "report.xml")
	code, report, statuses := runCheck(t, image, "--junit", junit)
	if code != exitOK {
		t.Errorf("exit code %d, want 0", code)
	}
	for _, id := range checkOrder {
		if statuses[id] != "PASS" {
			t.Errorf("check %s: %s, want PASS", id, statuses[id])
		}
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `failures="0"`) {
		t.Errorf("JUnit report: %v\n%s", err, b)
	}
	if strings.Contains(report, "tok-0123456789abcdef") {
		t.Error("the report shows the secret variable's value")
	}
}

func shortHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

// TestAccCheck_NoPlanSupport checks the good runner without --plan: a runner that does not
// declare plan support gets no plan run, and its plan checks are reported as such (WARN),
// not failed.
func TestAccCheck_NoPlanSupport(t *testing.T) {
	t.Parallel()
	image := brokenImage(t, "good", "1000:1000")
	code, report, statuses := runCheckArgs(t, image, withoutFlags(checkArgs(t), "--plan", "--state-path"))
	if code != exitOK {
		t.Errorf("exit code %d, want 0", code)
	}
	for _, id := range checkOrder {
		want := "PASS"
		if slices.Contains(planChecks, id) {
			want = "WARN"
		}
		if statuses[id] != want {
			t.Errorf("check %s: %s, want %s", id, statuses[id], want)
		}
	}
	if n := strings.Count(report, notDeclaredSummary); n != len(planChecks) {
		t.Errorf("the report says %d times %q, want %d", n, notDeclaredSummary, len(planChecks))
	}
	if strings.Contains(report, "plan #") {
		t.Error("the report shows a plan run")
	}
}

// withoutFlags drops flags (and the value of those that take one) from args.
func withoutFlags(args []string, flags ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "--plan" && slices.Contains(flags, "--plan"):
		case slices.Contains(flags, args[i]):
			i++
		default:
			out = append(out, args[i])
		}
	}
	return out
}
