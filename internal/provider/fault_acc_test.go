package provider

// The run lifecycle under faults, through the real CLI (terraform, or OpenTofu when
// TF_ACC_TERRAFORM_PATH names it) and the provider as a separate process, as users run
// them: the CLI killed with SIGKILL mid-create, -update and -destroy, Ctrl-C, a timeout on
// a silent runner, a runner failing on both actions. The in-process test framework cannot
// kill a provider, hence the CLI.

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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// faultEnv is a namespace and a CLI working directory; parallel tests may use it.
func faultEnv(t *testing.T) (*accEnv, *cli) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1")
	}
	c := newCLI(t)
	return clusterAccEnv(t), c
}

var (
	providerBinOnce sync.Once
	providerBinDir  string
	providerBinErr  error
)

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
	cmd := c.cmd("show", "-json")
	out, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("show -json: %v", err)
	}
	var st struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Type   string         `json:"type"`
					Values map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(out, &st); err != nil {
		c.t.Fatalf("parse show -json: %v\n%s", err, out)
	}
	for _, r := range st.Values.RootModule.Resources {
		if r.Type == "containerdriver_run" {
			return r.Values
		}
	}
	return nil
}

// podCounter counts the distinct runner pods of each action started in a namespace.
type podCounter struct {
	mu   sync.Mutex
	seen map[string]map[string]bool // action -> pod UID
}

func countPods(t *testing.T, e *accEnv) *podCounter {
	t.Helper()
	pc := &podCounter{seen: map[string]map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := e.client.CoreV1().Pods(e.ns).Watch(ctx, metav1.ListOptions{LabelSelector: contract.LabelManagedBy + "=" + contract.ManagedByValue})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type == watch.Error {
				continue
			}
			pc.mu.Lock()
			a := p.Labels[contract.LabelAction]
			if pc.seen[a] == nil {
				pc.seen[a] = map[string]bool{}
			}
			pc.seen[a][string(p.UID)] = true
			pc.mu.Unlock()
		}
	}()
	return pc
}

func (pc *podCounter) count(action string) int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.seen[action])
}

// waitRunner waits until a runner of action runs in the namespace.
func waitRunner(t *testing.T, e *accEnv, action string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pods, _ := e.client.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: contract.LabelAction + "=" + action})
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == contract.ContainerRunner && cs.State.Running != nil {
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no %s runner ran within %v", action, limit)
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
	for i := 0; i < 50; i++ {
		left = nil
		jobs, _ := e.client.BatchV1().Jobs(e.ns).List(ctx, sel)
		for _, j := range jobs.Items {
			left = append(left, "job/"+j.Name)
		}
		pods, _ := e.client.CoreV1().Pods(e.ns).List(ctx, sel)
		for _, p := range pods.Items {
			left = append(left, "pod/"+p.Name)
		}
		cms, _ := e.client.CoreV1().ConfigMaps(e.ns).List(ctx, sel)
		for _, c := range cms.Items {
			left = append(left, "configmap/"+c.Name)
		}
		secrets, _ := e.client.CoreV1().Secrets(e.ns).List(ctx, sel)
		for _, s := range secrets.Items {
			if s.Labels["containerdriver.io/state-of"] == "" {
				left = append(left, "secret/"+s.Name)
			}
		}
		leases, _ := e.client.CoordinationV1().Leases(e.ns).List(ctx, sel)
		for _, l := range leases.Items {
			left = append(left, "lease/"+l.Name)
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("left in %s: %v", e.ns, left)
}

// Defect 3: the CLI and its provider SIGKILLed during a create; the next apply resumes
// the run instead of running the runner a second time under a new id.
func TestAccRunFault_KilledCreateIsResumed(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	c.write(e.runConfig(`{ sleep_seconds = 25, echo_env = ["CONTAINERDRIVER_RUN_ID"] }`, ""))
	cmd, _ := c.start("apply", "-auto-approve")
	waitRunner(t, e, contract.ActionCreate, 90*time.Second)
	time.Sleep(3 * time.Second)
	signalGroup(t, cmd, syscall.SIGKILL)
	_ = cmd.Wait()

	out, ok := c.run("apply", "-auto-approve")
	if !ok {
		t.Fatalf("apply after the kill failed:\n%s", out)
	}
	if !strings.Contains(out, "Interrupted Create Resumed") {
		t.Errorf("the second apply did not say it resumed the run:\n%s", out)
	}
	if n := pods.count(contract.ActionCreate); n != 1 {
		t.Errorf("the runner ran %d times for one create", n)
	}
	st := c.stateResource()
	outputs, _ := st["outputs"].(map[string]any)
	if outputs == nil || outputs["env_CONTAINERDRIVER_RUN_ID"] != st["id"] {
		t.Errorf("outputs %v do not come from run %v", outputs, st["id"])
	}
	c.destroyAndCheck(e)
}

// Defect 3, for update and destroy: a killed update or destroy is re-attached to by the
// next one (the Job's name derives from the run id and the configuration).
func TestAccRunFault_KilledUpdateAndDestroyAreResumed(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	c.write(e.runConfig(`{ v = 1 }`, ""))
	c.must("create", "apply", "-auto-approve")
	c.write(e.runConfig(`{ v = 2, sleep_seconds = 20 }`, ""))
	cmd, _ := c.start("apply", "-auto-approve")
	waitRunner(t, e, contract.ActionCreate, 90*time.Second)
	for pods.count(contract.ActionCreate) < 2 {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	signalGroup(t, cmd, syscall.SIGKILL)
	_ = cmd.Wait()
	c.must("update after the kill", "apply", "-auto-approve")
	if n := pods.count(contract.ActionCreate); n != 2 {
		t.Errorf("%d create/update runs for one create and one update", n)
	}
	st := c.stateResource()
	if in, _ := st["outputs"].(map[string]any); in == nil || fmt.Sprint(in["inputs"]) != "map[sleep_seconds:20 v:2]" {
		t.Errorf("outputs after the resumed update: %v", st["outputs"])
	}

	c.write(e.runConfig(`{ v = 2, sleep_seconds = 20 }`, "")) // destroy sleeps too
	cmd, _ = c.start("destroy", "-auto-approve")
	waitRunner(t, e, contract.ActionDestroy, 90*time.Second)
	time.Sleep(3 * time.Second)
	signalGroup(t, cmd, syscall.SIGKILL)
	_ = cmd.Wait()
	c.must("destroy after the kill", "destroy", "-auto-approve")
	if n := pods.count(contract.ActionDestroy); n != 1 {
		t.Errorf("the destroy runner ran %d times", n)
	}
	e.noJobsLeft(t)
}

// Defect 2: Ctrl-C during an update with a state directory stops the pod gracefully; the
// state the runner wrote is there on the next run, and the error says "interrupted".
func TestAccRunFault_InterruptKeepsState(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	e.grantState(t)
	c.write(e.runConfig(`{ count_state = true, v = 1 }`, `state_path = "/state"`))
	c.must("create", "apply", "-auto-approve")
	c.write(e.runConfig(`{ count_state = true, v = 2, sleep_after_seconds = 120 }`, `state_path = "/state"`))
	cmd, out := c.start("apply", "-auto-approve")
	waitRunner(t, e, contract.ActionCreate, 90*time.Second)
	time.Sleep(4 * time.Second)
	signalGroup(t, cmd, syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Logf("the interrupted CLI exited: %v", err)
	case <-time.After(2 * time.Minute):
		signalGroup(t, cmd, syscall.SIGKILL)
		t.Fatalf("the CLI did not stop within 2 minutes of Ctrl-C:\n%s", out.String())
	}
	t.Logf("interrupted apply:\n%s", tail(out.String(), 40))
	if !strings.Contains(out.String(), "interrupted") || strings.Contains(out.String(), "timed out") {
		t.Errorf("the diagnostic does not say interrupted:\n%s", out.String())
	}
	c.write(e.runConfig(`{ count_state = true, v = 3 }`, `state_path = "/state"`))
	c.must("apply after the interrupt", "apply", "-auto-approve")
	st := c.stateResource()
	outputs, _ := st["outputs"].(map[string]any)
	if fmt.Sprint(outputs["count"]) != "3" || fmt.Sprint(outputs["sigterms"]) != "1" {
		t.Errorf("after create, interrupted update and update: count %v (want 3), sigterms %v (want 1)", outputs["count"], outputs["sigterms"])
	}
	c.destroyAndCheck(e)
}

// Defect 4: a silent runner stopped by a 30 s create timeout is reported as timed out,
// and the run is recorded (tainted, with runner_status) so its destroy runs.
func TestAccRunFault_TimeoutOnSilentRunnerIsRecorded(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	c.write(e.runConfig(`{ sleep_seconds = 300, sleep_on = "create" }`, `timeouts = { create = "30s" }`))
	out, ok := c.run("apply", "-auto-approve")
	if ok {
		t.Fatal("apply succeeded past its timeout")
	}
	if !strings.Contains(out, "Container Run Timed Out") || !strings.Contains(out, "timed out") {
		t.Errorf("the diagnostic does not say timed out:\n%s", out)
	}
	st := c.stateResource()
	if st == nil {
		t.Fatal("the timed-out run is not in the state")
	}
	rs, _ := st["runner_status"].(map[string]any)
	if rs == nil || rs["state"] != "terminated" {
		t.Errorf("runner_status = %v, want the stopped runner's", st["runner_status"])
	}
	// The next apply destroys the tainted run (ACTION=destroy) and creates it again.
	c.write(e.runConfig(`{ v = 1 }`, `timeouts = { create = "30s" }`))
	c.must("apply after the timeout", "apply", "-auto-approve")
	if pods.count(contract.ActionDestroy) != 1 {
		t.Errorf("the timed-out run was not destroyed: %d destroy runs", pods.count(contract.ActionDestroy))
	}
	c.destroyAndCheck(e)
}

// Defect 11: a runner that fails on create and on destroy alike (a bad input both read);
// the fixed configuration applies without any manual step.
func TestAccRunFault_FailedCreateDoesNotTrap(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	c.write(e.runConfig(`{ fail = "bad input: region xx-nowhere-1" }`, ""))
	if out, ok := c.run("apply", "-auto-approve"); ok {
		t.Fatalf("the failing create succeeded: %s", out)
	}
	c.write(e.runConfig(`{ v = 1 }`, ""))
	out, ok := c.run("apply", "-auto-approve")
	if !ok {
		t.Fatalf("the fixed configuration did not apply:\n%s", out)
	}
	if !strings.Contains(out, "Failed Create Dropped") {
		t.Errorf("no warning about the dropped failed create:\n%s", out)
	}
	c.destroyAndCheck(e)
}

// Two resources with the very same configuration in one apply are two runs: neither
// adopts the other's identity, which only a dead create's can be.
func TestAccRunFault_IdenticalResourcesAreTwoRuns(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	c.write(e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  count  = 2
  %s
  inputs = { sleep_seconds = 3, echo_env = ["CONTAINERDRIVER_RUN_ID"] }
}
`, e.jobBlock("")))
	c.must("apply", "apply", "-auto-approve", "-parallelism=2")
	out, err := c.cmd("state", "list").Output()
	if err != nil || strings.Count(string(out), "containerdriver_run.test[") != 2 {
		t.Fatalf("state list: %v\n%s", err, out)
	}
	if n := pods.count(contract.ActionCreate); n != 2 {
		t.Errorf("%d runner pods for two resources", n)
	}
	ids := map[string]bool{}
	for _, i := range []string{"0", "1"} {
		show, err := c.cmd("state", "show", "-no-color", "containerdriver_run.test["+i+"]").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(show), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "id" {
				ids[f[2]] = true
			}
		}
	}
	if len(ids) != 2 {
		t.Errorf("run ids %v: want two distinct", ids)
	}
	c.destroyAndCheck(e)
}
