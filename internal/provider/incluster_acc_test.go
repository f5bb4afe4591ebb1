package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// TestAccProvider_InClusterServiceAccount runs the CLI the test drives (Terraform or
// OpenTofu, TF_ACC_TERRAFORM_PATH) and the provider built from this tree in a pod of the
// cluster, as a CI runner in the cluster would: the provider block sets no connection
// attribute and the pod has no kubeconfig and no KUBE_* variable, so the provider uses
// the pod's service account, which has exactly the rights the Requirements guide lists.
// The pod applies a run, prints its outputs and destroys it.
func TestAccProvider_InClusterServiceAccount(t *testing.T) {
	t.Parallel()
	e, _ := faultEnv(t)
	identityKubeconfig(t, e, "provider-identity", documentedProviderRules) // the service account and its Role
	bin := cliPath()
	provider := testcluster.GoBinary(t, ".") // static: the image has no C library
	name := "out-" + fmt.Sprint(time.Now().UnixNano()%100000)
	mainTF := fmt.Sprintf(`terraform {
  required_providers {
    containerdriver = { source = "containerdriver/containerdriver" }
  }
}

provider "containerdriver" {
  sidecar_image = %q
}

resource "containerdriver_run" "test" {
  %s
  inputs = { outputs = { greeting = %q } }
}

output "greeting" {
  value = containerdriver_run.test.outputs.greeting
}
`, e.sidecar, e.jobBlock(""), name)
	script := `set -e
mkdir -p /tmp/w && cd /tmp/w && cp /work/main.tf .
/cli apply -auto-approve -input=false -no-color
echo "OUTPUT=$(/cli output -raw greeting)"
/cli destroy -auto-approve -input=false -no-color
echo DESTROYED
`
	dir := t.TempDir()
	files := map[string]string{
		"main.tf": mainTF,
		"run.sh":  script,
		"cli.tfrc": `provider_installation {
  dev_overrides {
    "containerdriver/containerdriver" = "/plugins"
  }
  direct {}
}
`,
	}
	spec := imagebuild.Spec{
		User: "1000:1000",
		Dirs: []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
		Files: []imagebuild.File{
			{Path: "/cli", Source: bin, Mode: 0o755},
			{Path: "/plugins/terraform-provider-containerdriver", Source: provider, Mode: 0o755},
			{Path: "/bin/busybox", Source: "/bin/busybox", Mode: 0o755},
		},
		Symlinks: []imagebuild.Symlink{{Path: "/bin/sh", Target: "busybox"}, {Path: "/bin/mkdir", Target: "busybox"}, {Path: "/bin/cp", Target: "busybox"}},
	}
	sum := sha256.New()
	for _, f := range []string{"main.tf", "run.sh", "cli.tfrc"} {
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte(files[f]), 0o644); err != nil {
			t.Fatal(err)
		}
		spec.Files = append(spec.Files, imagebuild.File{Path: "/work/" + f, Source: p, Mode: 0o644})
		sum.Write([]byte(files[f]))
	}
	for _, p := range []string{bin, provider} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(sum, p, st.Size(), st.ModTime().UnixNano())
	}
	ref := testcluster.ImageRegistry + "/incluster-cli:test-" + hex.EncodeToString(sum.Sum(nil))[:16]
	testcluster.BuildImage(t, ref, spec)

	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "incluster-cli"},
		Spec: corev1.PodSpec{
			ServiceAccountName: "provider-identity",
			RestartPolicy:      corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "cli", Image: ref, ImagePullPolicy: corev1.PullIfNotPresent,
				Command: []string{"/bin/sh", "/work/run.sh"},
				// Nothing says which cluster: no KUBE_* variable, no kubeconfig.
				Env: []corev1.EnvVar{
					{Name: "HOME", Value: "/tmp"}, {Name: "TF_CLI_CONFIG_FILE", Value: "/work/cli.tfrc"},
					{Name: "TF_IN_AUTOMATION", Value: "1"}, {Name: "CHECKPOINT_DISABLE", Value: "1"},
				},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true),
					Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
		},
	}
	if _, err := e.client.CoreV1().Pods(e.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var phase corev1.PodPhase
	err := wait.PollUntilContextTimeout(ctx, time.Second, 5*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := e.client.CoreV1().Pods(e.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		return phase == corev1.PodSucceeded || phase == corev1.PodFailed, nil
	})
	logs := podLog(t, e, pod.Name)
	t.Logf("%s in a pod:\n%s", filepath.Base(bin), tail(logs, 60))
	if err != nil || phase != corev1.PodSucceeded {
		t.Fatalf("the CLI's pod ended %q (%v): the provider did not work with the pod's service account", phase, err)
	}
	if !strings.Contains(logs, "OUTPUT="+name+"\n") || !strings.Contains(logs, "DESTROYED") {
		t.Errorf("the run's output %q did not come back, or the destroy did not finish", name)
	}
	if len(e.ran("create")) != 1 || len(e.ran("destroy")) != 1 {
		t.Errorf("want one create and one destroy Job in %s, saw create %v, destroy %v", e.ns, e.ran("create"), e.ran("destroy"))
	}
}

func podLog(t *testing.T, e *accEnv, pod string) string {
	t.Helper()
	r, err := e.client.CoreV1().Pods(e.ns).GetLogs(pod, &corev1.PodLogOptions{}).Stream(context.Background())
	if err != nil {
		t.Fatalf("log of %s: %v", pod, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
