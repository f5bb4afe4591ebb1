package templates_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// checkIDs are the checks containerdriver check reports, every one of which a template
// must pass.
var checkIDs = []string{
	"create", "outputs-are-json-objects", "outputs-within-limits", "create-is-idempotent",
	"update-converges", "invalid-input-fails", "destroy", "destroy-leaves-nothing",
	"create-after-destroy", "no-secret-in-log", "non-root-user",
	"plan", "plan-changes-nothing", "plan-applied-as-shown", "destroy-preview",
}

// TestAccCheck_Templates runs `containerdriver check` on each template's image with the
// command its README shows (from the repository root, in a namespace of the test's own),
// and wants every check to pass.
func TestAccCheck_Templates(t *testing.T) {
	sidecar := testcluster.SidecarImage(t) // skips (or fails) first when there is no cluster
	bin := testcluster.GoBinary(t, "./cmd/containerdriver")
	for _, template := range []string{"shell", "opentofu", "terraform"} {
		t.Run(template, func(t *testing.T) {
			if _, err := exec.LookPath("terraform"); err != nil && template == "terraform" {
				t.Skip("terraform is not installed")
			}
			args := readmeCheckCommand(t, template)
			image := templateImage(t, template) // before t.Parallel: the image cache is not locked
			t.Parallel()
			c := testcluster.Client(t)
			ns := testcluster.Namespace(t, c)
			junit := filepath.Join(t.TempDir(), "check.xml")
			args = append(replaceFlag(t, args, "--image", image), "--namespace", ns, "--sidecar-image", sidecar, "--junit", junit)

			cmd := exec.Command(bin, args...)
			cmd.Dir = ".." // the README's paths are relative to the repository root
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			t.Logf("containerdriver %s\n%s", strings.Join(args, " "), stdout.String())
			if err != nil {
				t.Fatalf("containerdriver check failed: %v\n%s", err, stderr.String())
			}
			for _, id := range checkIDs {
				if !regexp.MustCompile(`(?m)^PASS ` + regexp.QuoteMeta(id) + ` `).Match(stdout.Bytes()) {
					t.Errorf("check %s did not pass", id)
				}
			}
			b, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			var report struct {
				Suites []struct {
					Tests    int `xml:"tests,attr"`
					Failures int `xml:"failures,attr"`
				} `xml:"testsuite"`
			}
			if err := xml.Unmarshal(b, &report); err != nil || len(report.Suites) != 1 || report.Suites[0].Tests != len(checkIDs) || report.Suites[0].Failures != 0 {
				t.Errorf("JUnit report: %v %+v\n%s", err, report, b)
			}
			assertNamespaceClean(t, ns)
		})
	}
}

// readmeCheckCommand is the arguments of the `go run ./cmd/containerdriver check` command
// in a template's README.
func readmeCheckCommand(t *testing.T, template string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(template, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		for i := 0; i+3 < len(fields); i++ {
			if fields[i] == "go" && fields[i+1] == "run" && fields[i+2] == "./cmd/containerdriver" && fields[i+3] == "check" {
				return fields[i+3:]
			}
		}
	}
	t.Fatalf("%s/README.md shows no `go run ./cmd/containerdriver check` command", template)
	return nil
}

func replaceFlag(t *testing.T, args []string, flag, value string) []string {
	t.Helper()
	out := append([]string{}, args...)
	for i := range out {
		if out[i] == flag && i+1 < len(out) {
			out[i+1] = value
			return out
		}
	}
	t.Fatalf("the command has no %s: %q", flag, args)
	return nil
}

// assertNamespaceClean wants nothing of the check left in the namespace: no Job, pod,
// Secret, Lease or ConfigMap but the cluster's CA, and no service account but the test's.
func assertNamespaceClean(t *testing.T, ns string) {
	t.Helper()
	c := testcluster.Client(t)
	ctx := context.Background()
	var left []string
	jobs, err1 := c.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	pods, err2 := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	secrets, err3 := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	cms, err4 := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	leases, err5 := c.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
	sas, err6 := c.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	roles, err7 := c.RbacV1().Roles(ns).List(ctx, metav1.ListOptions{})
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7); err != nil {
		t.Fatal(err)
	}
	for _, o := range jobs.Items {
		left = append(left, "job "+o.Name)
	}
	for _, o := range pods.Items {
		left = append(left, "pod "+o.Name)
	}
	for _, o := range secrets.Items {
		left = append(left, "secret "+o.Name)
	}
	for _, o := range cms.Items {
		if o.Name != "kube-root-ca.crt" {
			left = append(left, "configmap "+o.Name)
		}
	}
	for _, o := range leases.Items {
		left = append(left, "lease "+o.Name)
	}
	for _, o := range sas.Items {
		if o.Name != "default" && o.Name != testcluster.RunnerServiceAccount {
			left = append(left, "serviceaccount "+o.Name)
		}
	}
	for _, o := range roles.Items {
		if o.Name != testcluster.RunnerServiceAccount && o.Name != "tfstate" {
			left = append(left, "role "+o.Name)
		}
	}
	if len(left) > 0 {
		t.Errorf("left in namespace %s: %v", ns, left)
	}
}
