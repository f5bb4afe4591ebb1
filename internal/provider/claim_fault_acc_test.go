package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Issue 23, item 3: instances with the same inputs but different secret_variables, the
// CLI killed during their create; the next apply gives each instance its own run (the one
// the killed apply started with its secret), none crossed, and runs no runner again.
func TestAccRunFault_KilledCreatesKeepTheirOwnSecrets(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	secrets := map[string]string{"a": "alpha-7f3e", "b": "bravo-91c2", "c": "charlie-04dd", "d": "delta-5b6a"}
	c.write(e.providerBlock() + fmt.Sprintf(`
locals {
  tokens = { a = %q, b = %q, c = %q, d = %q }
}
resource "containerdriver_run" "test" {
  for_each = local.tokens
  %s
  inputs = {
    sleep_seconds               = 25
    sleep_on                    = "create"
    echo_env                    = ["CONTAINERDRIVER_RUN_ID"]
    secret_outputs_reversed_env = { token = "TOKEN" }
  }
}
`, secrets["a"], secrets["b"], secrets["c"], secrets["d"], e.jobBlock(`secret_variables = { TOKEN = each.value }`)))
	cmd, _ := c.start("apply", "-auto-approve", "-parallelism=4")
	deadline := time.Now().Add(3 * time.Minute)
	for runningRunners(t, e, contract.ActionCreate) < len(secrets) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runners running", runningRunners(t, e, contract.ActionCreate), len(secrets))
		}
		time.Sleep(200 * time.Millisecond)
	}
	signalGroup(t, cmd, syscall.SIGKILL)
	_ = cmd.Wait()

	// Which run id the killed apply started with which secret: the run's input Secret
	// holds it.
	started := map[string]string{} // run id -> instance key
	ctx := context.Background()
	list, err := e.client.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{
		contract.LabelManagedBy: contract.ManagedByValue}.String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list.Items {
		run := s.Labels[contract.LabelRunID]
		for _, v := range s.Data {
			for k, secret := range secrets {
				if strings.Contains(string(v), secret) && run != "" {
					started[run] = k
				}
			}
		}
	}
	if len(started) != len(secrets) {
		t.Fatalf("the killed apply started %d runs with a secret, want %d: %v", len(started), len(secrets), started)
	}

	out, ok := c.run("apply", "-auto-approve", "-parallelism=4")
	if !ok {
		t.Fatalf("apply after the kill failed:\n%s", out)
	}
	inst := c.stateInstances()
	if len(inst) != len(secrets) {
		t.Fatalf("%d instances in the state, want %d", len(inst), len(secrets))
	}
	for k, secret := range secrets {
		st := inst[k]
		id, _ := st["id"].(string)
		if owner, ok := started[id]; !ok || owner != k {
			t.Errorf("instance %q holds run %s, which the killed apply started for instance %q", k, id, owner)
		}
		outputs, _ := st["outputs"].(map[string]any)
		if outputs == nil || outputs["env_CONTAINERDRIVER_RUN_ID"] != id {
			t.Errorf("instance %q: outputs %v do not come from its run %s", k, outputs, id)
		}
		so, _ := st["secret_outputs"].(map[string]any)
		if so == nil || so["token"] != reversed(secret) {
			t.Errorf("instance %q: its secret-derived output is %v, want the reverse of its own secret", k, so["token"])
		}
	}
	if n := pods.count(contract.ActionCreate); n != len(secrets) {
		t.Errorf("%d runner pods ran for %d creates: a resumed run ran again", n, len(secrets))
	}
	c.destroyAndCheck(e)
}

// Issue 23, item 3: the claim outlives the create's answer until the state is read back.
// Terraform losing the state after the create returned (it died before persisting it) is
// simulated by removing the state file: the next apply resumes the same run id instead of
// starting a second run, and the next plan of the recorded run deletes the claim.
func TestAccRunFault_StateLostAfterCreateResumesTheRun(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	c.write(e.runConfig(`{ echo_env = ["CONTAINERDRIVER_RUN_ID"] }`, ""))
	c.must("create", "apply", "-auto-approve")
	id, _ := c.stateResource()["id"].(string)
	ctx := context.Background()
	claim := containerdriver.ClaimName(id)
	l, err := e.client.CoordinationV1().Leases(e.ns).Get(ctx, claim, metav1.GetOptions{})
	if err != nil {
		t.Errorf("the claim of run %s is gone before its state was read back: %v", id, err)
	} else if l.Annotations[containerdriver.AnnotationReturned] != "true" {
		t.Errorf("claim annotations %v: not marked returned", l.Annotations)
	}
	for _, f := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		if err := os.Remove(filepath.Join(c.dir, f)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	out := c.must("apply after the state was lost", "apply", "-auto-approve")
	if !strings.Contains(out, "Interrupted Create Resumed") {
		t.Errorf("the apply after the lost state did not resume the run:\n%s", out)
	}
	st := c.stateResource()
	if st["id"] != id {
		t.Errorf("run id %v after the lost state, want the first create's %s", st["id"], id)
	}
	if outputs, _ := st["outputs"].(map[string]any); outputs == nil || outputs["env_CONTAINERDRIVER_RUN_ID"] != id {
		t.Errorf("outputs %v do not come from run %s", st["outputs"], id)
	}
	c.must("plan", "plan")
	if _, err := e.client.CoordinationV1().Leases(e.ns).Get(ctx, claim, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the claim of recorded run %s survived a plan: %v", id, err)
	}
	c.destroyAndCheck(e)
}

// runningRunners counts the runner containers of action running in the namespace.
func runningRunners(t *testing.T, e *accEnv, action string) int {
	t.Helper()
	pods, err := e.client.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: contract.LabelAction + "=" + action})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == contract.ContainerRunner && cs.State.Running != nil {
				n++
			}
		}
	}
	return n
}

// stateInstances returns the attributes of every containerdriver_run instance in the
// state, by its for_each key (or count index).
func (c *cli) stateInstances() map[string]map[string]any {
	c.t.Helper()
	m := map[string]map[string]any{}
	for _, r := range c.stateRuns() {
		m[fmt.Sprint(r.Index)] = r.Values
	}
	return m
}

// Issue 23, item 8: a runner that fails at create and, differently, at destroy. The fixed
// configuration cannot apply (the tainted run's destroy fails first, with its old inputs);
// the error names the run, its namespace and the ways out, and the one that keeps the
// configuration and the state untouched (CONTAINERDRIVER_FORCE_DESTROY_RUNS) works.
func TestAccRunFault_TrappedDestroyHasAWayOut(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	pods := countPods(t, e)
	c.write(e.runConfig(`{ fail = "bad input, action:", fail_with_env = "ACTION" }`, ""))
	if out, ok := c.run("apply", "-auto-approve"); ok {
		t.Fatalf("the failing create succeeded: %s", out)
	}
	st := c.stateResource()
	id, _ := st["id"].(string)
	if id == "" {
		t.Fatalf("the failed create is not recorded: %v", st)
	}
	c.write(e.runConfig(`{ v = 1 }`, ""))
	out, ok := c.run("apply", "-auto-approve")
	if ok {
		t.Fatalf("the tainted run's destroy, which fails, was skipped:\n%s", out)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{
		"Run " + id + " in namespace " + e.ns,
		"CONTAINERDRIVER_FORCE_DESTROY_RUNS=" + id + " terraform apply",
		"terraform state rm",
		"kubectl -n " + e.ns + " delete jobs,secrets,configmaps -l containerdriver.io/run-id=" + id,
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the trapped destroy's error does not say %q:\n%s", want, out)
		}
	}
	destroys := pods.count(contract.ActionDestroy)

	c.env = append(c.env, "CONTAINERDRIVER_FORCE_DESTROY_RUNS="+id)
	out = c.must("apply with the run named for force destroy", "apply", "-auto-approve")
	if !strings.Contains(out, "Destroy Run Skipped") || !strings.Contains(strings.Join(strings.Fields(out), " "), "is named in CONTAINERDRIVER_FORCE_DESTROY_RUNS") {
		t.Errorf("no warning that the destroy container did not run:\n%s", out)
	}
	if n := pods.count(contract.ActionDestroy); n != destroys {
		t.Errorf("the named run's destroy container ran again (%d destroy pods, %d before)", n, destroys)
	}
	st = c.stateResource()
	if st["id"] == id {
		t.Errorf("the trapped run %s is still in the state", id)
	}
	if outputs, _ := st["outputs"].(map[string]any); outputs == nil || fmt.Sprint(outputs["inputs"]) != "map[v:1]" {
		t.Errorf("the fixed configuration's outputs: %v", st["outputs"])
	}
	jobs, err := e.client.BatchV1().Jobs(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: contract.LabelRunID + "=" + id})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Errorf("%d Jobs of the force-destroyed run are left", len(jobs.Items))
	}
	c.env = c.env[:len(c.env)-1]
	c.destroyAndCheck(e)
}
