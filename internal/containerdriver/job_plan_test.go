package containerdriver

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			m[e.Name] = e.Value
		}
	}
	return m
}

func containerOf(t *testing.T, o *JobObjects, name string) corev1.Container {
	t.Helper()
	for _, c := range append(o.Job.Spec.Template.Spec.InitContainers, o.Job.Spec.Template.Spec.Containers...) {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %s", name)
	return corev1.Container{}
}

// A plan Job is named and labelled as a plan, gives the runner the PLAN_* variables,
// restores the state but never saves it (outputs-fetcher gets no STATE_PATH), and has
// state-restore make PLAN_ARTIFACT_DIR; runs that are not plans get no PLAN_* variable.
func TestBuildJob_Plan(t *testing.T) {
	spec := minimalSpec()
	spec.State = &StateSpec{Path: "/state"}
	spec.Plan = &PlanSpec{ID: "p", Destroy: true}
	o, err := BuildJob(spec, contract.ActionPlan)
	if err != nil {
		t.Fatal(err)
	}
	if o.Job.Labels[contract.LabelAction] != "plan" || o.Job.Name[14:18] != "plan" {
		t.Errorf("job %s labels %v", o.Job.Name, o.Job.Labels)
	}
	runner := envOf(containerOf(t, o, contract.ContainerRunner))
	for k, v := range map[string]string{
		"ACTION": "plan", "PLAN_DESTROY": "true", "PLAN_FILE": "/workspace/plan.txt",
		"PLAN_SUMMARY_FILE": "/workspace/plan-summary.json", "PLAN_ARTIFACT_DIR": "/workspace/.containerdriver-plan", "STATE_PATH": "/state",
	} {
		if runner[k] != v {
			t.Errorf("runner %s = %q, want %q", k, runner[k], v)
		}
	}
	if _, ok := runner["PLAN_APPLY"]; ok {
		t.Error("a plan run got PLAN_APPLY")
	}
	fetcher := envOf(containerOf(t, o, contract.ContainerOutputsFetcher))
	if _, ok := fetcher["STATE_PATH"]; ok {
		t.Error("outputs-fetcher of a plan run would save the state")
	}
	if fetcher["PLAN_FILE"] != "/workspace/plan.txt" {
		t.Errorf("outputs-fetcher PLAN_FILE = %q", fetcher["PLAN_FILE"])
	}
	restore := envOf(containerOf(t, o, contract.ContainerStateRestore))
	if restore["STATE_PATH"] != "/state" || restore["PLAN_ARTIFACT_DIR"] != "/workspace/.containerdriver-plan" {
		t.Errorf("state-restore env %v", restore)
	}

	// Without state, state-restore still prepares the artifact directory.
	spec.State, spec.Plan = nil, nil
	o, err = BuildJob(spec, contract.ActionPlan)
	if err != nil {
		t.Fatal(err)
	}
	if envOf(containerOf(t, o, contract.ContainerRunner))["PLAN_DESTROY"] != "false" {
		t.Error("PLAN_DESTROY is not false for a create preview")
	}
	containerOf(t, o, contract.ContainerStateRestore)

	c, err := BuildJob(minimalSpec(), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	for k := range envOf(containerOf(t, c, contract.ContainerRunner)) {
		if len(k) > 5 && k[:5] == "PLAN_" {
			t.Errorf("a create without plan got %s", k)
		}
	}
	if _, err := BuildJob(&RunSpec{RunID: "x", Plan: &PlanSpec{}}, contract.ActionCreate); err == nil {
		t.Error("a plan spec was accepted for a create")
	}
}

// A create handed an artifact gets PLAN_APPLY and the artifact in Job-owned Secrets,
// chunked and mounted into state-restore only.
func TestBuildJob_PlanApply(t *testing.T) {
	spec := minimalSpec()
	art := make([]byte, contract.ChunkSize+10)
	spec.PlanApply = NewPlanApply("p", art)
	o, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	runner := containerOf(t, o, contract.ContainerRunner)
	if envOf(runner)["PLAN_APPLY"] != "true" {
		t.Error("no PLAN_APPLY")
	}
	for _, m := range runner.VolumeMounts {
		if m.MountPath == contract.PlanArtifactMountPath || len(m.Name) > 13 && m.Name[:13] == "plan-artifact" {
			t.Errorf("the runner mounts %v", m)
		}
	}
	var chunks []string
	for _, s := range o.Secrets {
		if s.Labels[contract.LabelRole] == contract.RolePlanArtifact {
			chunks = append(chunks, s.Name)
		}
	}
	if len(chunks) != 2 {
		t.Errorf("artifact chunks %v, want 2", chunks)
	}
	restore := containerOf(t, o, contract.ContainerStateRestore)
	var mounts []string
	for _, m := range restore.VolumeMounts {
		if m.Name[:min(13, len(m.Name))] == "plan-artifact" {
			mounts = append(mounts, m.MountPath)
		}
	}
	if diff := cmp.Diff([]string{"/var/run/containerdriver/plan-artifact/0", "/var/run/containerdriver/plan-artifact/1"}, mounts); diff != "" {
		t.Error(diff)
	}
	if envOf(restore)["PLAN_ARTIFACT_SHA256"] != spec.PlanApply.SHA256 {
		t.Error("state-restore does not get the artifact's digest")
	}
	spec.PlanApply.SHA256 = "0"
	if _, err := BuildJob(spec, contract.ActionCreate); err == nil {
		t.Error("an artifact that does not match its digest was accepted")
	}
}

// The container deployer contract's plan is OPERATION=PLAN with the same PLAN_* variables.
func TestBuildJob_PlanDeployer(t *testing.T) {
	spec := minimalSpec()
	spec.Contract = ContractContainerDeployer
	o, err := BuildJob(spec, contract.ActionPlan)
	if err != nil {
		t.Fatal(err)
	}
	env := envOf(containerOf(t, o, contract.ContainerRunner))
	if env["OPERATION"] != "PLAN" || env["PLAN_FILE"] != "/workspace/plan.txt" || env["PLAN_DESTROY"] != "false" {
		t.Errorf("deployer plan env %v", env)
	}
	if _, ok := env["ACTION"]; ok {
		t.Error("the deployer contract got ACTION")
	}
}

// git-init leaves the plan's places free: in a plan Job it is told the plan files and the
// artifact directory, in a create handed an artifact the directory, in other runs nothing
// (a repository's plan.txt is copied as before).
func TestBuildJob_PlanGitInit(t *testing.T) {
	plan := map[string]string{"PLAN_FILE": "/workspace/plan.txt", "PLAN_SUMMARY_FILE": "/workspace/plan-summary.json", "PLAN_ARTIFACT_DIR": "/workspace/.containerdriver-plan"}
	for _, tc := range []struct {
		name   string
		action string
		edit   func(*RunSpec)
		want   map[string]string
	}{
		{"plan", contract.ActionPlan, func(s *RunSpec) { s.Plan = &PlanSpec{} }, plan},
		{"create applying a plan", contract.ActionCreate, func(s *RunSpec) { s.PlanApply = NewPlanApply("p", []byte("a")) },
			map[string]string{"PLAN_ARTIFACT_DIR": "/workspace/.containerdriver-plan"}},
		{"create", contract.ActionCreate, func(*RunSpec) {}, map[string]string{}},
		{"destroy", contract.ActionDestroy, func(*RunSpec) {}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := minimalSpec()
			spec.Source = &SourceSpec{URL: "https://h/r.git"}
			tc.edit(spec)
			o, err := BuildJob(spec, tc.action)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for k, v := range envOf(containerOf(t, o, contract.ContainerGitInit)) {
				if _, ok := plan[k]; ok {
					got[k] = v
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("git-init's PLAN_* (-want +got):\n%s", diff)
			}
		})
	}
}
