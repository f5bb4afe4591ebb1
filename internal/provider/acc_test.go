package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testcluster"
)

// accEnv is what an acceptance test against the cluster needs: a kubeconfig for the
// provider block, a client for the checks, a fresh namespace with the service account
// "runner" (allowed to create ConfigMaps and Secrets), the sidecar image and the test
// runner image (internal/testrunner, whose behaviour the run's inputs script).
type accEnv struct {
	kubeconfig string
	client     kubernetes.Interface
	ns         string
	sidecar    string
	runner     string
}

func newAccEnv(t *testing.T) *accEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	needTerraform(t)
	return clusterAccEnv(t)
}

// clusterAccEnv is newAccEnv without the CLI set-up, which changes the environment and so
// cannot be used by parallel tests.
func clusterAccEnv(t *testing.T) *accEnv {
	t.Helper()
	e := &accEnv{client: testcluster.Client(t)}
	// The provider gets the same cluster through config_path: it never reads KUBECONFIG.
	e.kubeconfig = testcluster.KubeconfigPath()
	if kc := filepath.SplitList(os.Getenv("KUBECONFIG")); len(kc) > 0 && kc[0] != "" {
		e.kubeconfig = kc[0]
	}
	e.sidecar = testcluster.SidecarImage(t)
	e.runner = testcluster.RunnerImage(t)
	e.ns = testcluster.Namespace(t, e.client)
	return e
}

// providerBlock connects through config_path only: the provider never reads KUBECONFIG.
func (e *accEnv) providerBlock() string {
	return fmt.Sprintf(`
provider "containerdriver" {
  config_path   = %q
  sidecar_image = %q
}
`, e.kubeconfig, e.sidecar)
}

// jobBlock is a job running the test runner in the test's namespace.
func (e *accEnv) jobBlock(extra string) string {
	return fmt.Sprintf(`job = {
    image           = %q
    command         = ["/testrunner"]
    namespace       = %q
    service_account = "runner"
    %s
  }`, e.runner, e.ns, extra)
}

// jobs lists the Jobs of one action in the test's namespace (kept with keep_job).
func (e *accEnv) jobs(t *testing.T, action string) []batchv1.Job {
	t.Helper()
	l, err := e.client.BatchV1().Jobs(e.ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: labels.Set{contract.LabelAction: action}.String(),
	})
	if err != nil {
		t.Fatalf("list %s jobs: %v", action, err)
	}
	return l.Items
}

// jobSucceeded reports whether the pod of a kept Job succeeded (the Job's own status is
// updated a moment later by the Job controller).
func (e *accEnv) jobSucceeded(job batchv1.Job) (bool, error) {
	pods, err := e.client.CoreV1().Pods(job.Namespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: labels.Set{batchv1.JobNameLabel: job.Name}.String(),
	})
	if err != nil {
		return false, err
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded || allSucceeded(p) {
			return true, nil
		}
	}
	return false, nil
}

// allSucceeded reports whether every container of a pod ended with exit code 0: the run
// is over then, a moment before the kubelet reports the phase.
func allSucceeded(p corev1.Pod) bool {
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 0 {
			return false
		}
	}
	return len(p.Status.ContainerStatuses) > 0
}

// runnerLog is the runner container's log of a kept Job.
func (e *accEnv) runnerLog(job batchv1.Job) (string, error) {
	ctx := context.Background()
	pods, err := e.client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{batchv1.JobNameLabel: job.Name}.String(),
	})
	if err != nil || len(pods.Items) == 0 {
		return "", fmt.Errorf("pods of job %s (%d found): %w", job.Name, len(pods.Items), err)
	}
	b, err := e.client.CoreV1().Pods(job.Namespace).GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{Container: contract.ContainerRunner}).DoRaw(ctx)
	return string(b), err
}

// gitServer serves the repositories under root (testcluster.GitServer).
func gitServer(t *testing.T, root string) string { return testcluster.GitServer(t, root) }

// gitRepo creates a bare repository name.git under root (testcluster.GitRepo).
func gitRepo(t *testing.T, root, name string) func(files map[string]string) string {
	return testcluster.GitRepo(t, root, name)
}
