package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// accEnv is what an acceptance test against the cluster needs: a kubeconfig for the
// provider block, a client for the checks, a fresh namespace with the service account
// "runner" (allowed to create ConfigMaps and Secrets), the sidecar image and the test
// runner image (internal/testsupport/testrunner, whose behaviour the run's inputs script).
type accEnv struct {
	kubeconfig string
	client     kubernetes.Interface
	ns         string
	sidecar    string
	runner     string
	// seen records every Job and Pod of ns from the start of the test (ran, podsRan).
	seen *testcluster.Recorder
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
	e.seen = testcluster.Record(t, e.client, e.ns)
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

// ran returns the names of the Jobs of action that were created in the test's namespace
// since the test began, including those whose run deleted them again: "no destroy Job
// exists now" is also true of a destroy that ran and cleaned up after itself.
func (e *accEnv) ran(action string) []string {
	return e.seen.Jobs(map[string]string{contract.LabelAction: action})
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

var (
	providerBinOnce sync.Once
	providerBinDir  string
	providerBinErr  error
)

// testProviders serves the provider in-process to the Terraform (or OpenTofu) binary
// named by TF_ACC_TERRAFORM_PATH.
var testProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"containerdriver": providerserver.NewProtocol6WithError(New("test")()),
}

// needTerraform skips a test that drives a Terraform binary when there is none to use:
// terraform-plugin-testing would otherwise try to download one.
func needTerraform(t *testing.T) {
	t.Helper()
	quietCLIConfig(t)
	p := cliPath()
	if p == "" {
		t.Skip("no Terraform binary: set TF_ACC_TERRAFORM_PATH")
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Setenv("TF_ACC_TERRAFORM_PATH", p)
	}
}

// cliPath is the Terraform (or OpenTofu) binary the acceptance tests drive, or "".
func cliPath() string {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/terraform"); err == nil {
		return "/usr/local/bin/terraform"
	}
	return ""
}

// quietCLIConfig points the CLI at an empty configuration file when the one it would read
// (TF_CLI_CONFIG_FILE, else ~/.terraformrc) does not exist:
// OpenTofu otherwise prints a warning about the missing ~/.terraformrc on stdout, before
// its version, and the test framework cannot parse `tofu version`.
func quietCLIConfig(t *testing.T) {
	t.Helper()
	cfg := os.Getenv("TF_CLI_CONFIG_FILE")
	if cfg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(home, ".terraformrc")
		}
	}
	if _, err := os.Stat(cfg); err == nil {
		return
	}
	f := filepath.Join(t.TempDir(), "cli.tfrc")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_CLI_CONFIG_FILE", f)
}

// faultEnv is a namespace and a CLI working directory; parallel tests may use it.
func faultEnv(t *testing.T) (*accEnv, *cli) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	c := newCLI(t)
	return clusterAccEnv(t), c
}

// providerBinary builds the provider once per test process, for dev_overrides.
func providerBinary(t *testing.T) string {
	t.Helper()
	providerBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cd-provider-")
		if err != nil {
			providerBinErr = err
			return
		}
		root, _ := filepath.Abs("../..")
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-containerdriver"), ".")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			providerBinErr = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		providerBinDir = dir
	})
	if providerBinErr != nil {
		t.Fatal(providerBinErr)
	}
	return providerBinDir
}

// cli is one working directory driven by the CLI with the provider from this tree.
type cli struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	bin := cliPath()
	if bin == "" {
		t.Skip("no Terraform binary: set TF_ACC_TERRAFORM_PATH")
	}
	dir := t.TempDir()
	rc := filepath.Join(dir, "cli.tfrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides {
    "containerdriver/containerdriver" = %q
  }
  direct {}
}
`, providerBinary(t))), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_LOG=")
	return &cli{t: t, bin: bin, dir: dir, env: env}
}

func (c *cli) write(config string) {
	c.t.Helper()
	full := `terraform {
  required_providers {
    containerdriver = { source = "containerdriver/containerdriver" }
  }
}
` + config
	if err := os.WriteFile(filepath.Join(c.dir, "main.tf"), []byte(full), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	// Its own process group: a kill reaches the CLI and its provider, as a lost CI host does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// run runs the CLI to the end and returns its combined output and whether it succeeded.
func (c *cli) run(args ...string) (string, bool) {
	c.t.Helper()
	var out bytes.Buffer
	cmd := c.cmd(append(args, "-no-color", "-input=false")...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	c.t.Logf("%s %s: %v\n%s", filepath.Base(c.bin), strings.Join(args, " "), err, tail(out.String(), 40))
	return out.String(), err == nil
}

// must runs the CLI to the end and fails the test, naming step, when it does not succeed.
func (c *cli) must(step string, args ...string) string {
	c.t.Helper()
	out, ok := c.run(args...)
	if !ok {
		c.t.Fatalf("%s: %s", step, out)
	}
	return out
}

// destroyAndCheck destroys what the working directory applied and checks that nothing of
// the provider is left in the namespace.
func (c *cli) destroyAndCheck(e *accEnv) {
	c.t.Helper()
	c.must("destroy", "destroy", "-auto-approve")
	e.noJobsLeft(c.t)
}

// start runs the CLI in the background; signal stops it.
func (c *cli) start(args ...string) (*exec.Cmd, *bytes.Buffer) {
	c.t.Helper()
	var out bytes.Buffer
	cmd := c.cmd(append(args, "-no-color", "-input=false")...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	return cmd, &out
}

func signalGroup(t *testing.T, cmd *exec.Cmd, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil {
		t.Fatalf("kill: %v", err)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stateResource returns the attributes of the first containerdriver_run in the state.
func (c *cli) stateResource() map[string]any {
	c.t.Helper()
	if runs := c.stateRuns(); len(runs) > 0 {
		return runs[0].Values
	}
	return nil
}

// stateRun is one containerdriver_run instance of `show -json`.
type stateRun struct {
	Index  any            `json:"index"`
	Values map[string]any `json:"values"`
}

// stateRuns returns the containerdriver_run instances of the state, in the CLI's order.
func (c *cli) stateRuns() []stateRun {
	c.t.Helper()
	out, err := c.cmd("show", "-json").Output()
	if err != nil {
		c.t.Fatalf("show -json: %v", err)
	}
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Type string `json:"type"`
					stateRun
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		c.t.Fatalf("parse show -json: %v\n%s", err, out)
	}
	var runs []stateRun
	for _, r := range st.Values.RootModule.Resources {
		if r.Type == "containerdriver_run" {
			runs = append(runs, r.stateRun)
		}
	}
	return runs
}

// podCounter counts the distinct runner pods of each action started in a namespace since
// countPods was called. It reads the namespace's recorder (informers, which list again when
// a watch ends), not a watch of its own: a single watch closed by the API server stops
// counting without a word, and a count that stops reads as "no pod ran".
type podCounter struct {
	seen   *testcluster.Recorder
	before map[string]bool // names of the pods seen before countPods
}

func countPods(t *testing.T, e *accEnv) *podCounter {
	t.Helper()
	pc := &podCounter{seen: e.seen, before: map[string]bool{}}
	for _, name := range e.seen.Pods(nil) {
		pc.before[name] = true
	}
	return pc
}

func (pc *podCounter) count(action string) int {
	n := 0
	for _, name := range pc.seen.Pods(map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelAction: action}) {
		if !pc.before[name] {
			n++
		}
	}
	return n
}

// waitRunner waits until a runner of action runs in the namespace and returns its pod.
func waitRunner(t *testing.T, e *accEnv, action string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pods, err := e.client.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: contract.LabelAction + "=" + action})
		if err != nil {
			t.Fatalf("list the %s pods: %v", action, err)
		}
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == contract.ContainerRunner && cs.State.Running != nil {
					return p.Name
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no %s runner ran within %v", action, limit)
	return ""
}

// waitRunnerLog waits until the runner container of pod has logged want: the event a
// fault test acts on (the runner started, or wrote its state), instead of a fixed sleep.
func waitRunnerLog(t *testing.T, e *accEnv, pod, want string, limit time.Duration) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		b, err := e.client.CoreV1().Pods(e.ns).GetLogs(pod, &corev1.PodLogOptions{Container: contract.ContainerRunner}).DoRaw(context.Background())
		if err == nil && strings.Contains(string(b), want) {
			return
		}
		last = string(b)
		if err != nil {
			last = err.Error()
		}
	}
	t.Fatalf("the runner of %s did not log %q within %v; last: %s", pod, want, limit, last)
}

func (e *accEnv) runConfig(inputs, extra string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = %s
  %s
}

output "outputs" {
  value = containerdriver_run.test.outputs
}
`, e.jobBlock(""), inputs, extra)
}

// noJobsLeft checks that no Job, pod or input/output object of the provider is left.
func (e *accEnv) noJobsLeft(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: contract.LabelManagedBy + "=" + contract.ManagedByValue}
	var left []string
	list := func() error {
		left = nil
		jobs, err := e.client.BatchV1().Jobs(e.ns).List(ctx, sel)
		if err != nil {
			return err
		}
		for _, j := range jobs.Items {
			left = append(left, "job/"+j.Name)
		}
		pods, err := e.client.CoreV1().Pods(e.ns).List(ctx, sel)
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			left = append(left, "pod/"+p.Name)
		}
		cms, err := e.client.CoreV1().ConfigMaps(e.ns).List(ctx, sel)
		if err != nil {
			return err
		}
		for _, c := range cms.Items {
			left = append(left, "configmap/"+c.Name)
		}
		secrets, err := e.client.CoreV1().Secrets(e.ns).List(ctx, sel)
		if err != nil {
			return err
		}
		for _, s := range secrets.Items {
			if s.Labels["containerdriver.io/state-of"] == "" {
				left = append(left, "secret/"+s.Name)
			}
		}
		leases, err := e.client.CoordinationV1().Leases(e.ns).List(ctx, sel)
		if err != nil {
			return err
		}
		for _, l := range leases.Items {
			left = append(left, "lease/"+l.Name)
		}
		return nil
	}
	for i := 0; i < 50; i++ {
		if err := list(); err != nil {
			// A listing that fails must not read as an empty namespace.
			t.Errorf("list what is left in %s: %v", e.ns, err)
			return
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("left in %s: %v", e.ns, left)
}

// grantState gives the test's service account what a state directory needs on top of
// the specification's permissions.
func (e *accEnv) grantState(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.RbacV1().Roles(e.ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "state", Namespace: e.ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "update", "delete"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().RoleBindings(e.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "state", Namespace: e.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "state"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runner", Namespace: e.ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (e *accEnv) stateSecrets(t *testing.T) int {
	t.Helper()
	l, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/state-of"})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

// noStateSecretsLeft is a CheckDestroy: the run's state directory is gone with it.
func (e *accEnv) noStateSecretsLeft(t *testing.T) func(*terraform.State) error {
	return func(*terraform.State) error {
		if n := e.stateSecrets(t); n != 0 {
			return fmt.Errorf("%d state Secrets left after destroy", n)
		}
		return nil
	}
}
