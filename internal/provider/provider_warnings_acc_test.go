package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Warnings read from the CLI's own output (faultEnv, fault_acc_test.go), which the
// in-process test framework does not expose.

// TestAccRun_PodSecurityWarning: in a namespace that enforces nothing but warns about the
// restricted Pod Security level, a run whose pod template gives the runner a host port
// (which the provider's own pod_template rules allow) runs, and `apply` prints the API
// server's Pod Security warning as a Terraform warning.
func TestAccRun_PodSecurityWarning(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	patch := `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged","pod-security.kubernetes.io/warn":"restricted"}}}`
	if _, err := e.client.CoreV1().Namespaces().Patch(context.Background(), e.ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	c.write(e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = { outputs = { ok = "yes" } }
}
`, e.jobBlock(fmt.Sprintf(`pod_template = "spec:\n  containers:\n  - name: runner\n    ports:\n    - containerPort: 8080\n      hostPort: %d\n"`, 20000+os.Getpid()%10000))))
	out, ok := c.run("apply", "-auto-approve")
	t.Cleanup(func() {
		if _, ok := c.run("destroy", "-auto-approve"); !ok {
			t.Error("destroy failed")
		}
	})
	if !ok {
		t.Fatal("apply failed")
	}
	flat := strings.Join(strings.Fields(out), " ") // the CLI wraps long lines
	for _, want := range []string{"Warning: Pod Security Warning", `would violate PodSecurity "restricted:latest"`, "hostPort", "namespace " + e.ns} {
		if !strings.Contains(flat, want) {
			t.Errorf("the apply output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "Warning: Pod Security Warning"); n != 1 {
		t.Errorf("want the warning once, got %d:\n%s", n, out)
	}
}

// TestAccRun_ForceDestroyWarns: destroying a run with force_destroy says in the CLI's
// output, as a warning, that the destroy run was skipped and what was removed.
func TestAccRun_ForceDestroyWarns(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	c.write(e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs        = { outputs = { ok = "yes" } }
  force_destroy = true
}
`, e.jobBlock("")))
	if _, ok := c.run("apply", "-auto-approve"); !ok {
		t.Fatal("apply failed")
	}
	out, ok := c.run("destroy", "-auto-approve")
	if !ok {
		t.Fatal("destroy failed")
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"Warning: Destroy Run Skipped", "did not run with ACTION=destroy", "Removed from namespace " + e.ns} {
		if !strings.Contains(flat, want) {
			t.Errorf("the destroy output lacks %q:\n%s", want, out)
		}
	}
	if jobs := e.ran("destroy"); len(jobs) != 0 {
		t.Errorf("force_destroy ran destroy Jobs %v", jobs)
	}
	if len(e.ran("create")) == 0 {
		t.Errorf("no create Job was recorded: the recorder sees nothing")
	}
}
