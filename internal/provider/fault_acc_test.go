package provider

// The run lifecycle under faults, through the real CLI (terraform, or OpenTofu when
// TF_ACC_TERRAFORM_PATH names it) and the provider as a separate process, as users run
// them: the CLI killed with SIGKILL mid-create, -update and -destroy, Ctrl-C, a timeout on
// a silent runner, a runner failing on both actions. The in-process test framework cannot
// kill a provider, hence the CLI.

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Defect 3: the CLI and its provider SIGKILLed during a create; the next apply resumes
// the run instead of running the runner a second time under a new id.
func TestAccRunFault_KilledCreateIsResumed(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	c.write(e.runConfig(`{ sleep_seconds = 25, echo_env = ["CONTAINERDRIVER_RUN_ID"] }`, ""))
	cmd, _ := c.start("apply", "-auto-approve")
	pod := waitRunner(t, e, contract.ActionCreate, 90*time.Second)
	waitRunnerLog(t, e, pod, "testrunner: ACTION=create", time.Minute)
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
	for deadline := time.Now().Add(2 * time.Minute); pods.count(contract.ActionCreate) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			signalGroup(t, cmd, syscall.SIGKILL)
			t.Fatalf("the update's runner pod did not appear within 2 minutes")
		}
	}
	pod := waitRunner(t, e, contract.ActionCreate, 90*time.Second)
	waitRunnerLog(t, e, pod, "testrunner: ACTION=create", time.Minute)
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
	pod = waitRunner(t, e, contract.ActionDestroy, 90*time.Second)
	waitRunnerLog(t, e, pod, "testrunner: ACTION=destroy", time.Minute)
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
	pods := countPods(t, e)
	c.write(e.runConfig(`{ count_state = true, v = 1 }`, `state_path = "/state"`))
	c.must("create", "apply", "-auto-approve")
	c.write(e.runConfig(`{ count_state = true, v = 2, sleep_after_seconds = 120 }`, `state_path = "/state"`))
	cmd, out := c.start("apply", "-auto-approve")
	for deadline := time.Now().Add(2 * time.Minute); pods.count(contract.ActionCreate) < 2; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			signalGroup(t, cmd, syscall.SIGKILL)
			t.Fatalf("the update's runner pod did not appear within 2 minutes")
		}
	}
	pod := waitRunner(t, e, contract.ActionCreate, 90*time.Second)
	waitRunnerLog(t, e, pod, "testrunner: state written", time.Minute)
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
