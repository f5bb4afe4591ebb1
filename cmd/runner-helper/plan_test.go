package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// planModule is testModule with a second resource that holds a sensitive variable: the
// plan text, the summary and the log must never show its value.
const planModule = testModule + `
variable "token" {
  type      = string
  sensitive = true
  default   = ""
}

resource "terraform_data" "token" {
  input = var.token
}
`

const planToken = "tok-5f1e9c0a7b3d"

// planRun is what one plan pod leaves: its files, read back.
type planRun struct {
	result
	text     string
	summary  *contract.PlanSummary
	artifact string // the directory the run was given as PLAN_ARTIFACT_DIR
}

// plan runs ACTION=plan as the executor would: the plan files in the shared directory
// and an empty artifact directory of the pod's own.
func (j *job) plan(inputs any, destroy bool, args ...string) planRun {
	t := j.t
	t.Helper()
	pr := planRun{artifact: filepath.Join(t.TempDir(), contract.PlanArtifactDirName)}
	if err := os.Mkdir(pr.artifact, 0o755); err != nil {
		t.Fatal(err)
	}
	planFile, summaryFile := contract.PlanFile(j.scripts), contract.PlanSummaryFile(j.scripts)
	os.Remove(planFile)
	os.Remove(summaryFile)
	pr.result = j.runEnv(contract.ActionPlan, inputs, map[string]string{
		contract.EnvPlanDestroy:     boolString(destroy),
		contract.EnvPlanFile:        planFile,
		contract.EnvPlanSummaryFile: summaryFile,
		contract.EnvPlanArtifactDir: pr.artifact,
	}, args...)
	if b, err := os.ReadFile(planFile); err == nil {
		pr.text = string(b)
	}
	if b, err := os.ReadFile(summaryFile); err == nil {
		pr.summary = &contract.PlanSummary{}
		if err := json.Unmarshal(b, pr.summary); err != nil {
			t.Fatalf("%s is not a plan summary: %v\n%s", contract.PlanSummaryFileName, err, b)
		}
	}
	return pr
}

// applyPlan runs a create handed the artifact of a plan run, restored (copied) into a
// directory of its own pod as the executor restores it.
func (j *job) applyPlan(inputs any, artifact string, args ...string) result {
	t := j.t
	t.Helper()
	dir := filepath.Join(t.TempDir(), contract.PlanArtifactDirName)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if artifact != "" {
		if err := copyTree(artifact, dir); err != nil {
			t.Fatal(err)
		}
	}
	return j.runEnv(contract.ActionCreate, inputs, map[string]string{
		contract.EnvPlanApply:       "true",
		contract.EnvPlanArtifactDir: dir,
	}, args...)
}

// stateFiles is every file of the local backend's directory with the hash of its content
// (the lock file the backend takes during a plan included, if it were left).
func (j *job) stateFiles() map[string]string {
	t := j.t
	t.Helper()
	entries, err := os.ReadDir(j.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(j.stateDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		files[e.Name()] = hex.EncodeToString(sum[:])
	}
	return files
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// The plan action with the real tools, through a resource's life: the plan of a fresh
// module, the create that applies its saved plan, plans with no change, an input change and
// an outputs-only change, a destroy preview, and a stale saved plan refused. Every plan
// leaves the backend's files as they were.
func TestRun_Plan(t *testing.T) {
	for _, tool := range tools {
		t.Run(tool, func(t *testing.T) {
			j := newJob(t, tool, map[string]string{"main.tf": planModule})
			st := j.localState()
			world := map[string]any{"name": "world", "token": planToken}

			// The plan of a fresh module: two to add, the saved plan left, no state made.
			before := j.stateFiles()
			p := j.plan(world, false, st...)
			if p.code != 0 {
				t.Fatalf("plan exited %d; error file:\n%s", p.code, p.errorFile)
			}
			if diff := cmp.Diff(&contract.PlanSummary{Add: 2, HasChanges: true}, p.summary); diff != "" {
				t.Errorf("summary of the first plan (-want +got):\n%s", diff)
			}
			for _, want := range []string{"terraform_data.greeting will be created", `"hello world"`, "Plan: 2 to add, 0 to change, 0 to destroy."} {
				if !strings.Contains(p.text, want) {
					t.Errorf("the plan text does not contain %q:\n%s", want, p.text)
				}
			}
			for what, s := range map[string]string{"plan text": p.text, "log": p.stdout + p.stderr, "error file": p.errorFile} {
				if strings.Contains(s, planToken) {
					t.Errorf("the %s shows the sensitive variable's value", what)
				}
			}
			if diff := cmp.Diff(before, j.stateFiles()); diff != "" {
				t.Errorf("the plan changed the backend's files (-before +after):\n%s", diff)
			}
			if got := dirNames(t, p.artifact); !cmp.Equal(got, []string{planStateName, planArtifactName}) {
				t.Errorf("the artifact directory holds %v, want [%s %s]", got, planStateName, planArtifactName)
			}
			if p.outputs != nil || p.secretOutputs != nil {
				t.Errorf("the plan wrote outputs: %v %v", p.outputs, p.secretOutputs)
			}
			first := p.artifact

			// Inputs other than the planned ones: OpenTofu refuses the saved plan, Terraform
			// applies the planned values; neither plans anew.
			r := j.applyPlan(map[string]any{"name": "not-planned", "token": planToken}, first, st...)
			switch tool {
			case "tofu":
				if r.code != 1 || !strings.Contains(r.errorFile, "Mismatch between input and plan variable value") {
					t.Errorf("tofu applied a saved plan with other inputs: exit %d, error file:\n%s", r.code, r.errorFile)
				}
				if got := j.stateFiles(); len(got) != 0 {
					t.Errorf("the refused apply wrote a state: %v", got)
				}
			case "terraform":
				if r.code != 0 || r.outputs["greeting"] != "hello world" {
					t.Errorf("terraform with other inputs: exit %d, outputs %v, want the planned greeting", r.code, r.outputs)
				}
				// Start again from no state for the case below.
				if err := os.Remove(filepath.Join(j.stateDir, "state.tfstate")); err != nil {
					t.Fatal(err)
				}
			}

			// The create handed that artifact applies it as it is: the configuration saved
			// in the plan, not the module's files (changed here on purpose), is applied.
			writeFile(t, filepath.Join(j.scripts, "main.tf"), strings.Replace(planModule, `"hello ${var.name}"`, `"bye ${var.name}"`, 1))
			r = j.applyPlan(world, first, st...)
			writeFile(t, filepath.Join(j.scripts, "main.tf"), planModule)
			if r.code != 0 {
				t.Fatalf("the create with the saved plan exited %d; error file:\n%s", r.code, r.errorFile)
			}
			if got := r.outputs["greeting"]; got != "hello world" {
				t.Errorf("greeting after applying the saved plan = %v, want the planned %q", got, "hello world")
			}
			if !strings.Contains(r.stdout, "applying the saved plan of the preview") || !strings.Contains(r.stdout, "2 added") {
				t.Errorf("the log does not show the saved plan applied (2 added):\n%s", r.stdout)
			}
			if n := j.stateResources(); n != 2 {
				t.Errorf("the state holds %d resources after the create, want 2", n)
			}

			// Nothing to do: has_changes false, the state untouched.
			before = j.stateFiles()
			p = j.plan(world, false, st...)
			if p.code != 0 {
				t.Fatalf("second plan exited %d; error file:\n%s", p.code, p.errorFile)
			}
			if diff := cmp.Diff(&contract.PlanSummary{}, p.summary); diff != "" {
				t.Errorf("summary of a plan without changes (-want +got):\n%s", diff)
			}
			if !strings.Contains(p.text, "No changes.") {
				t.Errorf("the plan text does not say there are no changes:\n%s", p.text)
			}
			if diff := cmp.Diff(before, j.stateFiles()); diff != "" {
				t.Errorf("a plan without changes changed the backend's files (-before +after):\n%s", diff)
			}

			// One input changes one resource.
			p = j.plan(map[string]any{"name": "again", "token": planToken}, false, st...)
			if p.code != 0 {
				t.Fatalf("plan of an update exited %d; error file:\n%s", p.code, p.errorFile)
			}
			if diff := cmp.Diff(&contract.PlanSummary{Change: 1, HasChanges: true}, p.summary); diff != "" {
				t.Errorf("summary of an update (-want +got):\n%s", diff)
			}
			if !strings.Contains(p.text, "terraform_data.greeting will be updated in-place") {
				t.Errorf("the plan text does not show the update:\n%s", p.text)
			}
			if diff := cmp.Diff(before, j.stateFiles()); diff != "" {
				t.Errorf("the plan of an update changed the backend's files (-before +after):\n%s", diff)
			}
			update := p.artifact

			// A change of an output alone: no resource counted, but changes all the same.
			p = j.plan(map[string]any{"name": "world", "token": planToken, "tags": map[string]string{"team": "a"}}, false, st...)
			if p.code != 0 {
				t.Fatalf("plan of an outputs-only change exited %d; error file:\n%s", p.code, p.errorFile)
			}
			if diff := cmp.Diff(&contract.PlanSummary{HasChanges: true}, p.summary); diff != "" {
				t.Errorf("summary of an outputs-only change (-want +got):\n%s", diff)
			}

			// The destroy preview: both to destroy, no artifact (a destroy applies none).
			p = j.plan(world, true, st...)
			if p.code != 0 {
				t.Fatalf("destroy preview exited %d; error file:\n%s", p.code, p.errorFile)
			}
			if diff := cmp.Diff(&contract.PlanSummary{Destroy: 2, HasChanges: true}, p.summary); diff != "" {
				t.Errorf("summary of the destroy preview (-want +got):\n%s", diff)
			}
			if !strings.Contains(p.text, "terraform_data.greeting will be destroyed") {
				t.Errorf("the destroy preview does not show the destroy:\n%s", p.text)
			}
			if got := dirNames(t, p.artifact); len(got) != 0 {
				t.Errorf("the destroy preview left %v in the artifact directory, want nothing", got)
			}
			if diff := cmp.Diff(before, j.stateFiles()); diff != "" {
				t.Errorf("the destroy preview changed the backend's files (-before +after):\n%s", diff)
			}
			if n := j.stateResources(); n != 2 {
				t.Errorf("the state holds %d resources after the destroy preview, want 2", n)
			}

			// The state moves on after the update's plan was made: its saved plan is stale,
			// and the create refuses it instead of planning again.
			r = j.run("create", map[string]any{"name": "third", "token": planToken}, st...)
			if r.code != 0 {
				t.Fatalf("create exited %d; error file:\n%s", r.code, r.errorFile)
			}
			before = j.stateFiles()
			r = j.applyPlan(map[string]any{"name": "again", "token": planToken}, update, st...)
			if r.code == 0 {
				t.Fatal("the create applied a stale saved plan")
			}
			for _, want := range []string{"Saved plan is stale", "did not plan again"} {
				if !strings.Contains(r.errorFile, want) {
					t.Errorf("the error file does not contain %q:\n%s", want, r.errorFile)
				}
			}
			if r.outputs != nil {
				t.Errorf("the refused create wrote outputs: %v", r.outputs)
			}
			if diff := cmp.Diff(before, j.stateFiles()); diff != "" {
				t.Errorf("the refused create changed the backend's files (-before +after):\n%s", diff)
			}
		})
	}
}

// PLAN_APPLY without a saved plan fails before the tool runs: planning anew would apply
// what nobody saw.
func TestRun_PlanApplyWithoutArtifact(t *testing.T) {
	j := newJob(t, "terraform", map[string]string{"main.tf": planModule})
	for name, dir := range map[string]string{"empty directory": "", "no directory": "-"} {
		t.Run(name, func(t *testing.T) {
			var r result
			if dir == "-" {
				r = j.runEnv(contract.ActionCreate, map[string]any{"name": "x"}, map[string]string{contract.EnvPlanApply: "true"}, j.localState()...)
			} else {
				r = j.applyPlan(map[string]any{"name": "x"}, "", j.localState()...)
			}
			if r.code != 1 {
				t.Errorf("exit code = %d, want 1", r.code)
			}
			for _, want := range []string{"PLAN_APPLY=true", "never a new one: plan again"} {
				if !strings.Contains(r.errorFile, want) {
					t.Errorf("the error file does not contain %q:\n%s", want, r.errorFile)
				}
			}
			if strings.Contains(r.stdout, "terraform init") {
				t.Errorf("the tool ran without a saved plan:\n%s", r.stdout)
			}
			if _, err := os.Stat(filepath.Join(j.stateDir, "state.tfstate")); err == nil {
				t.Error("a state was written")
			}
		})
	}
}

// A module of its own backend keeps it for the plan as well, and the plan saves nothing
// there; a failed plan leaves no saved plan behind.
func TestRun_PlanModuleBackendAndFailure(t *testing.T) {
	j := newJob(t, "terraform", nil)
	state := filepath.Join(j.stateDir, "state.tfstate")
	writeFile(t, filepath.Join(j.scripts, "main.tf"), planModule)
	writeFile(t, filepath.Join(j.scripts, "backend.tf"), "terraform {\n  backend \"local\" {\n    path = \""+state+"\"\n  }\n}\n")
	if r := j.run("create", map[string]any{"name": "own"}); r.code != 0 {
		t.Fatalf("create exited %d; error file:\n%s", r.code, r.errorFile)
	}
	before := j.stateFiles()
	p := j.plan(map[string]any{"name": "changed"}, false)
	if p.code != 0 {
		t.Fatalf("plan exited %d; error file:\n%s", p.code, p.errorFile)
	}
	if diff := cmp.Diff(&contract.PlanSummary{Change: 1, HasChanges: true}, p.summary); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(j.scripts, overrideFileName)); err == nil {
		t.Error("the plan wrote a backend override over the module's own backend")
	}
	if diff := cmp.Diff(before, j.stateFiles()); diff != "" {
		t.Errorf("the plan changed the module backend's files (-before +after):\n%s", diff)
	}

	p = j.plan(map[string]any{"name": ""}, false)
	if p.code != 1 || !strings.Contains(p.errorFile, "terraform plan failed (exit code 1)") || !strings.Contains(p.errorFile, "The name must not be empty.") {
		t.Errorf("a refused plan: exit %d, error file:\n%s", p.code, p.errorFile)
	}
	if p.summary != nil || p.text != "" {
		t.Errorf("a failed plan wrote its files: summary %v, text %q", p.summary, p.text)
	}
	if got := dirNames(t, p.artifact); len(got) != 0 {
		t.Errorf("a failed plan left %v in the artifact directory", got)
	}
}

func TestSummarizePlan(t *testing.T) {
	rc := func(actions ...string) map[string]any {
		return map[string]any{"address": "x", "change": map[string]any{"actions": actions}}
	}
	plan := func(changes ...map[string]any) string {
		b, _ := json.Marshal(map[string]any{"format_version": "1.2", "resource_changes": changes})
		return string(b)
	}
	for _, tc := range []struct {
		name    string
		in      string
		want    contract.PlanSummary
		wantErr string
	}{
		{name: "nothing", in: `{"format_version": "1.2"}`},
		{
			name: "each action",
			in: plan(rc("create"), rc("create"), rc("update"), rc("delete"), rc("no-op"), rc("read"),
				rc("delete", "create"), rc("create", "delete"), rc("forget"), rc("create", "forget"), rc("forget", "create")),
			want: contract.PlanSummary{Add: 6, Change: 1, Destroy: 3},
		},
		{
			// OpenTofu prints CLI configuration warnings to stdout even with -json.
			name: "after a warning",
			in:   "\nWarning: Unable to open CLI configuration file\n\n" + plan(rc("update")),
			want: contract.PlanSummary{Change: 1},
		},
		{name: "not JSON", in: "oops", wantErr: "invalid character"},
		{name: "not a plan", in: `{"greeting": {"value": "x"}}`, wantErr: "not a JSON plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarizePlan([]byte(tc.in))
			if endsWithError(t, err, tc.wantErr) {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// The tool applies a saved plan to the backend recorded in it, not to the one the module
// directory configures: a plan made against another state (another run id's Secret, another
// path) is refused before the tool runs, and neither state is written.
func TestRun_PlanOfAnotherState(t *testing.T) {
	j := newJob(t, "terraform", map[string]string{"main.tf": planModule})
	other := []string{"-backend", "local", "-backend-config", "path=" + filepath.Join(j.stateDir, "other.tfstate")}
	p := j.plan(map[string]any{"name": "x"}, false, other...)
	if p.code != 0 {
		t.Fatalf("plan exited %d; error file:\n%s", p.code, p.errorFile)
	}
	r := j.applyPlan(map[string]any{"name": "x"}, p.artifact, j.localState()...)
	if r.code != 1 {
		t.Errorf("exit code = %d, want 1", r.code)
	}
	for _, want := range []string{"the saved plan was made by terraform with other settings of the local backend", "plan again"} {
		if !strings.Contains(r.errorFile, want) {
			t.Errorf("the error file does not contain %q:\n%s", want, r.errorFile)
		}
	}
	if strings.Contains(r.stdout, "terraform apply") {
		t.Errorf("the tool applied the plan:\n%s", r.stdout)
	}
	if got := j.stateFiles(); len(got) != 0 {
		t.Errorf("a state was written: %v", got)
	}
}

// With the kubernetes backend the state is the run id's Secret: a plan made with another
// run id names both Secrets when it is refused.
func TestCheckPlanState(t *testing.T) {
	sa := fakeServiceAccount(t, nil, "team-a")
	helperFor := func(runID string) *helper {
		h := &helper{dir: t.TempDir(), cfg: &config{
			tool: "tofu", saDir: sa, runID: runID, planArtifactDir: t.TempDir(),
			getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
		}}
		if err := h.configureBackend(&module{dir: h.dir}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	planned := helperFor("0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a")
	if err := writeJSON(filepath.Join(planned.cfg.planArtifactDir, planStateName), planned.planState()); err != nil {
		t.Fatal(err)
	}
	same := helperFor("0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a")
	same.cfg.planArtifactDir = planned.cfg.planArtifactDir
	if err := same.checkPlanState(); err != nil {
		t.Errorf("the same run's plan was refused: %v", err)
	}
	other := helperFor("5b2d8c1e-0f4a-4c3b-8e7d-6a9f1b2c3d4e")
	other.cfg.planArtifactDir = planned.cfg.planArtifactDir
	err := other.checkPlanState()
	want := "the saved plan was made by tofu against the kubernetes backend's Secret team-a/tfstate-default-0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a, this run's state is the kubernetes backend's Secret team-a/tfstate-default-5b2d8c1e-0f4a-4c3b-8e7d-6a9f1b2c3d4e"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}
}
