package provider

import (
	"strings"
	"testing"
)

// TestAccRun_FailedCreateWhoseDestroyFailsDifferentlyIsKept: a failed create is dropped
// from the state only when its destroy fails exactly as the create did (same container,
// exit code and error file: the runner cannot act on these inputs, so it made nothing).
// A destroy that fails differently may have met something the create made: the instance
// must stay in the state, with its run id, so that nothing is orphaned. The runner here
// appends $ACTION to its error, so create and destroy fail with different texts.
func TestAccRun_FailedCreateWhoseDestroyFailsDifferentlyIsKept(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	failing := e.runConfig(`{ fail = "cannot reach the bucket on", fail_with_env = "ACTION" }`, "")
	c.write(failing)
	out, ok := c.run("apply", "-auto-approve")
	if ok || !strings.Contains(out, "cannot reach the bucket on create") {
		t.Fatalf("the create did not fail as the runner said:\n%s", out)
	}
	id, _ := c.stateResource()["id"].(string)
	if id == "" {
		t.Fatalf("the failed create was not recorded (tainted)")
	}

	// The fixed configuration replaces the tainted instance: its destroy runs first, with
	// the recorded inputs, and fails differently.
	c.write(e.runConfig(`{ v = 1 }`, ""))
	out, ok = c.run("apply", "-auto-approve")
	flat := strings.Join(strings.Fields(out), " ")
	if ok {
		t.Fatalf("the replacement applied although the destroy of the failed create failed:\n%s", out)
	}
	if !strings.Contains(flat, "cannot reach the bucket on destroy") {
		t.Errorf("the destroy's own error is not shown:\n%s", out)
	}
	if strings.Contains(flat, "Failed Create Dropped") {
		t.Errorf("a destroy that failed differently dropped the failed create:\n%s", out)
	}
	if got, _ := c.stateResource()["id"].(string); got != id {
		t.Errorf("after the failed destroy the state holds run %q, want the failed create's %q", got, id)
	}
	if n := len(e.ran("destroy")); n != 1 {
		t.Errorf("%d destroy Jobs ran, want 1", n)
	}
	// Leave the test's namespace to its cleanup: the run cannot be destroyed by design.
	if b, err := c.cmd("state", "rm", "containerdriver_run.test").CombinedOutput(); err != nil {
		t.Fatalf("state rm: %v\n%s", err, b)
	}
}
