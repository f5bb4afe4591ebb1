package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var (
	providerBinaryOnce sync.Once
	providerBinaryDir  string
	providerBinaryErr  error
)

// TestMain removes the provider binary built for the CLI tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if providerBinaryDir != "" {
		_ = os.RemoveAll(providerBinaryDir)
	}
	os.Exit(code)
}

// providerBinary builds the provider once per test process, for tests that run the
// Terraform CLI themselves to read its output (warnings, which terraform-plugin-testing
// does not expose).
func providerBinary(t *testing.T) string {
	t.Helper()
	providerBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "containerdriver-provider-")
		if err != nil {
			providerBinaryErr = err
			return
		}
		providerBinaryDir = dir
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-containerdriver"), "../..")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			providerBinaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if providerBinaryErr != nil {
		t.Fatal(providerBinaryErr)
	}
	return providerBinaryDir
}

// terraformCLI runs the Terraform (or OpenTofu) binary of TF_ACC_TERRAFORM_PATH in dir
// with the provider built from this tree (dev_overrides) and returns its combined output.
func terraformCLI(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	bin := providerBinary(t)
	rc := filepath.Join(dir, "cli.tfrc")
	if _, err := os.Stat(rc); err != nil {
		cfg := fmt.Sprintf(`provider_installation {
  dev_overrides {
    "registry.terraform.io/containerdriver/containerdriver" = %q
    "registry.opentofu.org/containerdriver/containerdriver" = %q
  }
  direct {}
}
`, bin, bin)
		if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append([]string{"-chdir=" + dir}, args...)...)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_LOG=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAccRun_podSecurityWarning: in a namespace that enforces nothing but warns about the
// restricted Pod Security level, a run whose pod template adds a hostPath volume runs,
// and `apply` prints the API server's Pod Security warning as a Terraform warning.
func TestAccRun_podSecurityWarning(t *testing.T) {
	e := newAccEnv(t)
	patch := `{"metadata":{"labels":{"pod-security.kubernetes.io/enforce":"privileged","pod-security.kubernetes.io/warn":"restricted"}}}`
	if _, err := e.client.CoreV1().Namespaces().Patch(context.Background(), e.ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := `terraform {
  required_providers {
    containerdriver = { source = "containerdriver/containerdriver" }
  }
}
` + e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = { outputs = { ok = "yes" } }
}
`, e.jobBlock(`pod_template = "spec:\n  volumes:\n  - name: host-tmp\n    hostPath:\n      path: /tmp\n"`))
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := terraformCLI(t, dir, "apply", "-auto-approve", "-input=false", "-no-color")
	t.Cleanup(func() {
		if out, err := terraformCLI(t, dir, "destroy", "-auto-approve", "-input=false", "-no-color"); err != nil {
			t.Errorf("destroy: %v\n%s", err, out)
		}
	})
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	flat := strings.Join(strings.Fields(out), " ") // Terraform wraps long lines
	for _, want := range []string{"Warning: Pod Security Warning", `would violate PodSecurity "restricted:latest"`, `volume "host-tmp"`, "hostPath", "namespace " + e.ns} {
		if !strings.Contains(flat, want) {
			t.Errorf("the apply output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "Warning: Pod Security Warning") != 1 {
		t.Errorf("want the warning once:\n%s", out)
	}
}

// TestAccRun_forceDestroyWarns: destroying a run with force_destroy says in Terraform's
// output, as a warning, that the destroy run was skipped and what was removed.
func TestAccRun_forceDestroyWarns(t *testing.T) {
	e := newAccEnv(t)
	dir := t.TempDir()
	config := `terraform {
  required_providers {
    containerdriver = { source = "containerdriver/containerdriver" }
  }
}
` + e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs        = { outputs = { ok = "yes" } }
  force_destroy = true
}
`, e.jobBlock(""))
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := terraformCLI(t, dir, "apply", "-auto-approve", "-input=false", "-no-color"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	out, err := terraformCLI(t, dir, "destroy", "-auto-approve", "-input=false", "-no-color")
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, out)
	}
	flat := strings.Join(strings.Fields(out), " ") // Terraform wraps long lines
	for _, want := range []string{"Warning: Destroy Run Skipped", "did not run with ACTION=destroy", "Removed from namespace " + e.ns} {
		if !strings.Contains(flat, want) {
			t.Errorf("the destroy output lacks %q:\n%s", want, out)
		}
	}
	if n := len(e.jobs(t, "destroy")); n != 0 {
		t.Errorf("force_destroy ran %d destroy Jobs", n)
	}
}
