package templates_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// shellRun runs templates/shell/runner.sh on this machine as one pod would: a shared
// directory of its own, the contract's variables, and the state directory given.
type shellRun struct {
	code           int
	log, errorFile string
	outputs        map[string]any
	planText       string
	summary        *contract.PlanSummary
	artifact       string
}

func runShell(t *testing.T, action, name, stateDir string, env map[string]string) shellRun {
	t.Helper()
	sh, err := exec.LookPath("busybox")
	args := []string{"sh", "shell/runner.sh"}
	if err != nil {
		sh, args = "/bin/sh", args[1:]
	}
	shared := t.TempDir()
	inputs := filepath.Join(t.TempDir(), "inputs.json")
	if err := os.WriteFile(inputs, []byte(`{"name":"`+name+`"}`), 0o444); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"ACTION": action, "SCRIPTS_DIRECTORY": shared, "RESOURCE_INPUTS_FILE": inputs,
		"OUTPUTS_FILE": contract.OutputsFile(shared), "SECRET_OUTPUTS_FILE": contract.SecretOutputsFile(shared),
		"ERROR_FILE": contract.ErrorFile(shared), "CONTAINERDRIVER_RUN_ID": "run-1",
	}
	if stateDir != "" {
		vars["STATE_PATH"] = stateDir
	}
	if action == contract.ActionPlan {
		vars[contract.EnvPlanFile] = contract.PlanFile(shared)
		vars[contract.EnvPlanSummaryFile] = contract.PlanSummaryFile(shared)
		vars[contract.EnvPlanArtifactDir] = contract.PlanArtifactDir(shared)
		if err := os.Mkdir(contract.PlanArtifactDir(shared), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(sh, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	r := shellRun{log: string(out), artifact: vars[contract.EnvPlanArtifactDir]}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, _ := os.ReadFile(p)
		return string(b)
	}
	r.errorFile = read(vars["ERROR_FILE"])
	if b := read(vars["OUTPUTS_FILE"]); b != "" {
		if err := json.Unmarshal([]byte(b), &r.outputs); err != nil {
			t.Fatalf("outputs: %v\n%s", err, b)
		}
	}
	if action == contract.ActionPlan {
		r.planText = read(vars[contract.EnvPlanFile])
		if b := read(vars[contract.EnvPlanSummaryFile]); b != "" {
			r.summary = &contract.PlanSummary{}
			if err := json.Unmarshal([]byte(b), r.summary); err != nil {
				t.Fatalf("plan summary: %v\n%s", err, b)
			}
		}
	}
	t.Logf("runner.sh %s %s: exit %d\n%s", action, name, r.code, r.log)
	return r
}

// The shell template's plan action, run on this machine: a preview from the state
// directory that changes nothing, the create that applies the saved plan, a stale one
// refused, a destroy preview, and a run without a state directory.
func TestShellTemplate_Plan(t *testing.T) {
	state := t.TempDir()
	greeting := filepath.Join(state, "greeting")
	stateOf := func() string {
		b, err := os.ReadFile(greeting)
		if os.IsNotExist(err) {
			return "(none)"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	plan := func(name string, env map[string]string, want contract.PlanSummary, wantText string) shellRun {
		t.Helper()
		before := stateOf()
		p := runShell(t, contract.ActionPlan, name, state, env)
		if p.code != 0 {
			t.Fatalf("plan exited %d: %s", p.code, p.errorFile)
		}
		if diff := cmp.Diff(&want, p.summary); diff != "" {
			t.Errorf("plan of %q: summary (-want +got):\n%s", name, diff)
		}
		if !strings.Contains(p.planText, wantText) {
			t.Errorf("plan of %q: text %q, want it to contain %q", name, p.planText, wantText)
		}
		if p.outputs != nil {
			t.Errorf("the plan wrote outputs: %v", p.outputs)
		}
		if after := stateOf(); after != before {
			t.Errorf("the plan changed the state: %q -> %q", before, after)
		}
		return p
	}
	applyWith := func(name string, p shellRun) shellRun {
		t.Helper()
		return runShell(t, contract.ActionCreate, name, state, map[string]string{contract.EnvPlanApply: "true", contract.EnvPlanArtifactDir: p.artifact})
	}

	p := plan("Ada", nil, contract.PlanSummary{Add: 1, HasChanges: true}, "+ greeting 'hello Ada'")
	// The create applies the saved plan, not its own inputs.
	r := applyWith("Bob", p)
	if r.code != 0 || r.outputs["greeting"] != "hello Ada" {
		t.Fatalf("the create with the saved plan: exit %d, outputs %v, error %q; want the planned greeting", r.code, r.outputs, r.errorFile)
	}
	plan("Ada", nil, contract.PlanSummary{}, "No changes")
	stale := plan("Grace", nil, contract.PlanSummary{Change: 1, HasChanges: true}, "~ greeting 'hello Ada' -> 'hello Grace'")
	plan("Ada", map[string]string{contract.EnvPlanDestroy: "true"}, contract.PlanSummary{Destroy: 1, HasChanges: true}, "- greeting 'hello Ada'")

	if r := runShell(t, contract.ActionCreate, "Linus", state, nil); r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.errorFile)
	}
	r = applyWith("Grace", stale)
	if r.code == 0 || !strings.Contains(r.errorFile, "the saved plan is stale") || stateOf() != "hello Linus\n" {
		t.Errorf("a stale saved plan: exit %d, error %q, state %q; want it refused and the state kept", r.code, r.errorFile, stateOf())
	}
	r = runShell(t, contract.ActionCreate, "Ada", state, map[string]string{contract.EnvPlanApply: "true", contract.EnvPlanArtifactDir: t.TempDir()})
	if r.code == 0 || !strings.Contains(r.errorFile, "holds no saved plan") {
		t.Errorf("PLAN_APPLY without a saved plan: exit %d, error %q", r.code, r.errorFile)
	}

	if r := runShell(t, contract.ActionDestroy, "Ada", state, nil); r.code != 0 || stateOf() != "(none)" {
		t.Fatalf("destroy: exit %d, state %q", r.code, stateOf())
	}
	plan("Ada", map[string]string{contract.EnvPlanDestroy: "true"}, contract.PlanSummary{}, "nothing to tear down")

	// Without a state directory the script cannot know what it did: every create counts.
	p = runShell(t, contract.ActionPlan, "Ada", "", nil)
	if diff := cmp.Diff(&contract.PlanSummary{Add: 1, HasChanges: true}, p.summary); p.code != 0 || diff != "" {
		t.Errorf("plan without a state directory: exit %d, summary (-want +got):\n%s", p.code, diff)
	}
	// The run's "fail" input is refused at plan time too.
	p = runShell(t, contract.ActionPlan, `x","fail":"no`, state, nil)
	if p.code != 3 || strings.TrimSpace(p.errorFile) != "no" || p.summary != nil {
		t.Errorf("a refused plan: exit %d, error %q, summary %v", p.code, p.errorFile, p.summary)
	}
}
