package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// grantInfra lets the test runner manage its "infrastructure", ConfigMaps of the
// namespace (internal/testsupport/testrunner/plan.go), with the token mount_service_account_token gives.
func (e *accEnv) grantInfra(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.client.RbacV1().Roles(e.ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "infra", Namespace: e.ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update", "delete"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().RoleBindings(e.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "infra", Namespace: e.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "infra"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runner", Namespace: e.ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// infra returns the data of the test runner's ConfigMap, and whether it exists.
func (e *accEnv) infra(t *testing.T) (map[string]string, bool) {
	t.Helper()
	cm, err := e.client.CoreV1().ConfigMaps(e.ns).Get(context.Background(), "infra", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data, true
}

func (e *accEnv) previewSecrets(t *testing.T) int {
	t.Helper()
	l, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: contract.LabelPlanID})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

func (e *accEnv) planConfig(value, plan string) string {
	return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = { infra = { name = "infra", data = { a = %q } } }
  plan   = %s
}

output "applied_plan_id" {
  value = containerdriver_run.test.outputs.applied_plan_id
}
`, e.jobBlock("mount_service_account_token = true"), value, plan)
}

var artifactRe = regexp.MustCompile(`artifact ([0-9a-f]{16})`)

// planJSON is what `show -json PLANFILE` says of the run: its planned values.
func (c *cli) planJSON(file string) map[string]any {
	c.t.Helper()
	out, err := c.cmd("show", "-json", file).Output()
	if err != nil {
		c.t.Fatalf("show -json %s: %v", file, err)
	}
	var p struct {
		ResourceChanges []struct {
			Type   string `json:"type"`
			Change struct {
				After map[string]any `json:"after"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		c.t.Fatal(err)
	}
	for _, r := range p.ResourceChanges {
		if r.Type == "containerdriver_run" {
			return r.Change.After
		}
	}
	c.t.Fatalf("no containerdriver_run in the plan:\n%s", out)
	return nil
}

// applyPlanFile runs `apply PLANFILE` (the file after the flags, where the CLI wants it).
func (c *cli) applyPlanFile(file string) (string, bool) {
	c.t.Helper()
	out, err := c.cmd("apply", "-no-color", "-input=false", file).CombinedOutput()
	c.t.Logf("apply %s: %v\n%s", filepath.Base(file), err, tail(string(out), 40))
	return string(out), err == nil
}

func (c *cli) output(name string) string {
	c.t.Helper()
	out, err := c.cmd("output", "-raw", name).Output()
	if err != nil {
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			c.t.Fatalf("output %s: %v\n%s", name, err, ee.Stderr)
		}
		c.t.Fatalf("output %s: %v", name, err)
	}
	return string(out)
}

// TestAccRunPlan_PreviewApplyDriftDestroy: `terraform plan -out` shows the runner's own
// change list for a create (as a warning and as plan_summary in the saved plan), runs one
// plan Job, and changes nothing; `apply PLANFILE` applies the previewed artifact without
// a second plan Job; an update previews and applies its change; a ConfigMap deleted by
// hand is reported by `plan -refresh-only` and repaired by the next apply; a destroy is
// previewed; nothing is left behind.
func TestAccRunPlan_PreviewApplyDriftDestroy(t *testing.T) {
	e, c := faultEnv(t)
	e.grantInfra(t)
	plans := countPods(t, e)
	planFile := filepath.Join(c.dir, "p1.tfplan")

	c.write(e.planConfig("1", "{}"))
	out := c.must("plan", "plan", "-out="+planFile)
	for _, want := range []string{"Runner Plan: 1 to add, 0 to change, 0 to destroy", "+ create configmap/infra", `a = "1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	m := artifactRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no artifact id in the plan output")
	}
	after := c.planJSON(planFile)
	if s, _ := after["plan_summary"].(map[string]any); s["add"] != float64(1) || s["has_changes"] != true {
		t.Errorf("plan_summary in the saved plan = %v", after["plan_summary"])
	}
	if id, _ := after["plan_id"].(string); !regexp.MustCompile(`^[0-9a-f]{24}-[0-9a-f]{16}$`).MatchString(id) {
		t.Errorf("plan_id in the saved plan = %v", after["plan_id"])
	}
	if _, found := e.infra(t); found {
		t.Fatal("the plan created the ConfigMap")
	}
	if n := plans.count(contract.ActionPlan); n != 1 {
		t.Errorf("%d plan pods after one plan, want 1", n)
	}

	if out, ok := c.applyPlanFile(planFile); !ok {
		t.Fatalf("apply the saved plan: %s", out)
	}
	if got := c.output("applied_plan_id"); got != m[1] {
		t.Errorf("applied_plan_id = %q, want the previewed artifact %s", got, m[1])
	}
	if d, _ := e.infra(t); d["a"] != "1" {
		t.Errorf("ConfigMap = %v", d)
	}
	if n := plans.count(contract.ActionPlan); n != 1 {
		t.Errorf("%d plan pods after applying the saved plan, want still 1", n)
	}
	if n := e.previewSecrets(t); n != 0 {
		t.Errorf("%d preview Secrets left after the apply", n)
	}
	if out := c.must("plan without changes", "plan", "-detailed-exitcode"); !strings.Contains(out, "No changes") {
		t.Error("a second plan is not empty")
	}
	if n := plans.count(contract.ActionPlan); n != 1 {
		t.Errorf("%d plan pods after a plan without changes, want still 1", n)
	}

	// An update, plan and apply in one command: one plan Job.
	c.write(e.planConfig("2", "{}"))
	out = c.must("update", "apply", "-auto-approve")
	if !strings.Contains(out, `~ a: "1" -> "2"`) || !strings.Contains(out, "Runner Plan: 0 to add, 1 to change, 0 to destroy") {
		t.Error("the update's runner plan is not shown")
	}
	if n := plans.count(contract.ActionPlan); n != 2 {
		t.Errorf("%d plan pods after the update, want 2", n)
	}
	if d, _ := e.infra(t); d["a"] != "2" {
		t.Errorf("ConfigMap after the update = %v", d)
	}

	// Drift: deleted by hand, found by refresh, repaired by the next apply.
	c.write(e.planConfig("2", "{ detect_drift = true }"))
	c.must("enable drift detection", "apply", "-auto-approve")
	if err := e.client.CoreV1().ConfigMaps(e.ns).Delete(context.Background(), "infra", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	out = c.must("refresh-only", "plan", "-refresh-only")
	if !strings.Contains(out, "Drift Detected: 1 to add") || !strings.Contains(out, "+ create configmap/infra") {
		t.Error("refresh does not report the drift")
	}
	if _, found := e.infra(t); found {
		t.Fatal("-refresh-only changed something")
	}
	before := plans.count(contract.ActionPlan)
	c.must("plan without refresh", "plan", "-refresh=false")
	if n := plans.count(contract.ActionPlan); n != before {
		t.Errorf("-refresh=false ran %d plan Jobs, want none", n-before)
	}
	out = c.must("repair", "apply", "-auto-approve")
	if !strings.Contains(out, "1 to change") {
		t.Error("the drift does not plan an update")
	}
	if d, _ := e.infra(t); d["a"] != "2" {
		t.Errorf("ConfigMap after the repair = %v", d)
	}
	if st := c.stateResource(); st["drift"] != nil {
		t.Errorf("drift after the repair = %v", st["drift"])
	}
	if out := c.must("plan after the repair", "plan"); !strings.Contains(out, "No changes") {
		t.Error("drift reported again after the repair")
	} else if !strings.Contains(out, "Runner Plan: no changes") || !regexp.MustCompile(`reports\s+no\s+changes:\s+nothing\s+was\s+changed\s+outside\s+of\s+it`).MatchString(out) || !strings.Contains(out, "No changes. configmap/infra is up to date.") {
		t.Error("the plan after the repair does not show the runner's own no-change")
	}

	out = c.must("destroy preview", "plan", "-destroy")
	if !strings.Contains(out, "Runner Destroy Plan: 0 to add, 0 to change, 1 to destroy") || !strings.Contains(out, "- destroy configmap/infra") {
		t.Error("the destroy is not previewed")
	}
	c.destroyAndCheck(e)
	if _, found := e.infra(t); found {
		t.Error("destroy left the ConfigMap")
	}
}

// TestAccRunPlan_Stale: a saved plan whose preview lost its artifact fails the apply with
// on_stale = "fail", nothing run, and the next plan previews anew; with "replan" the apply
// runs without an artifact. A preview deleted whole makes the apply's second plan preview
// again, with another plan_id: Terraform stops the apply, nothing is run.
func TestAccRunPlan_Stale(t *testing.T) {
	e, c := faultEnv(t)
	e.grantInfra(t)
	plans := countPods(t, e)
	planFile := filepath.Join(c.dir, "p.tfplan")
	deleteSecrets := func(selector string) {
		t.Helper()
		if err := e.client.CoreV1().Secrets(e.ns).DeleteCollection(context.Background(), metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: selector}); err != nil {
			t.Fatal(err)
		}
	}
	artifactGone := contract.LabelRole + "=" + contract.RolePlanPreviewChunk
	c.write(e.planConfig("1", "{}"))
	c.must("plan", "plan", "-out="+planFile)
	deleteSecrets(artifactGone)
	out, ok := c.applyPlanFile(planFile)
	if ok || !strings.Contains(out, "Runner Plan Stale") || !strings.Contains(out, "terraform plan again") {
		t.Fatalf("a stale plan applied, or without the error asking to plan again")
	}
	if _, found := e.infra(t); found {
		t.Fatal("the stale apply ran the runner")
	}
	if n := plans.count(contract.ActionPlan); n != 1 {
		t.Errorf("%d plan pods, want 1: the apply previewed again", n)
	}

	c.write(e.planConfig("1", `{ on_stale = "replan" }`))
	c.must("plan", "plan", "-out="+planFile)
	if n := plans.count(contract.ActionPlan); n != 2 {
		t.Errorf("%d plan pods, want 2: the plan after a stale apply did not preview anew", n)
	}
	deleteSecrets(artifactGone)
	out, ok = c.applyPlanFile(planFile)
	if !ok {
		t.Fatalf("apply with replan: %s", out)
	}
	if !strings.Contains(out, "Runner Plan Stale: Planning Again") {
		t.Error("no warning that the apply planned anew")
	}
	if got := c.output("applied_plan_id"); got != "" {
		t.Errorf("applied_plan_id = %q, want none: there was no artifact", got)
	}
	if d, _ := e.infra(t); d["a"] != "1" {
		t.Errorf("ConfigMap = %v", d)
	}

	c.write(e.planConfig("2", `{ on_stale = "replan" }`))
	c.must("plan", "plan", "-out="+planFile)
	deleteSecrets(contract.LabelPlanID)
	out, ok = c.applyPlanFile(planFile)
	if ok || !strings.Contains(out, "plan_id") {
		t.Error("a plan whose preview was deleted whole applied")
	}
	if d, _ := e.infra(t); d["a"] != "1" {
		t.Errorf("ConfigMap after the refused apply = %v", d)
	}
	c.destroyAndCheck(e)
}

// TestAccRunPlan_SkipUnchanged: with plan.skip_unchanged, an update whose runner preview
// reports no changes records the new inputs without running the container; the outputs stay.
func TestAccRunPlan_SkipUnchanged(t *testing.T) {
	e, c := faultEnv(t)
	e.grantInfra(t)
	pods := countPods(t, e)
	config := func(note string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = { infra = { name = "infra", data = { a = "1" } }, note = %q }
  plan   = { skip_unchanged = true }
}

output "note" {
  value = containerdriver_run.test.outputs.inputs.note
}
`, e.jobBlock("mount_service_account_token = true"), note)
	}
	c.write(config("first"))
	c.must("create", "apply", "-auto-approve")
	if n := pods.count(contract.ActionCreate); n != 1 {
		t.Fatalf("%d create pods, want 1", n)
	}
	c.write(config("second"))
	out := c.must("update without runner changes", "apply", "-auto-approve")
	if !strings.Contains(out, "Runner Plan: no changes") {
		t.Error("the preview's no-change is not shown")
	}
	if n := pods.count(contract.ActionCreate); n != 1 {
		t.Errorf("%d create pods after an update the runner had nothing to do for, want still 1", n)
	}
	if got := c.output("note"); got != "first" {
		t.Errorf("outputs changed (note = %q): the container ran", got)
	}
	if st := c.stateResource(); fmt.Sprint(st["inputs"]) != fmt.Sprint(map[string]any{"infra": map[string]any{"name": "infra", "data": map[string]any{"a": "1"}}, "note": "second"}) {
		t.Errorf("inputs in the state = %v, want the new ones", st["inputs"])
	}
	if out := c.must("plan", "plan"); !strings.Contains(out, "No changes") {
		t.Error("the skipped update is planned again")
	}
	c.destroyAndCheck(e)
}

// TestAccRunPlan_UnknownInputs: an input unknown until apply means no preview at plan, a
// warning saying which, plan_id unknown; the apply previews once the inputs are known,
// shows that plan in its output, and applies it (one plan Job).
func TestAccRunPlan_UnknownInputs(t *testing.T) {
	e, c := faultEnv(t)
	e.grantInfra(t)
	pods := countPods(t, e)
	c.write(e.providerBlock() + fmt.Sprintf(`
resource "terraform_data" "later" {
  input = "known only at apply"
}

resource "containerdriver_run" "test" {
  %s
  inputs = { infra = { name = "infra", data = { a = terraform_data.later.output } } }
  plan   = {}
}

output "applied_plan_id" {
  value = containerdriver_run.test.outputs.applied_plan_id
}
`, e.jobBlock("mount_service_account_token = true")))
	out := c.must("plan", "plan")
	if !strings.Contains(out, "No Runner Plan Preview") || !strings.Contains(out, "inputs unknown until apply") || !strings.Contains(out, "plan_id             = (known after apply)") {
		t.Error("no warning naming the unknown input, or plan_id is not unknown")
	}
	if n := pods.count(contract.ActionPlan); n != 0 {
		t.Errorf("%d plan pods with unknown inputs, want none", n)
	}
	out = c.must("apply", "apply", "-auto-approve")
	m := artifactRe.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "+ create configmap/infra") {
		t.Fatal("the apply does not show the plan it applies")
	}
	if got := c.output("applied_plan_id"); got != m[1] {
		t.Errorf("applied_plan_id = %q, want the artifact shown at apply, %s", got, m[1])
	}
	if n := pods.count(contract.ActionPlan); n != 1 {
		t.Errorf("%d plan pods, want 1", n)
	}
	if d, _ := e.infra(t); d["a"] != "known only at apply" {
		t.Errorf("ConfigMap = %v", d)
	}
	c.destroyAndCheck(e)
}

// TestAccRunPlan_SkipUnchangedReplan: skip_unchanged with on_stale = "replan". A saved plan
// whose preview reported no changes promises the outputs as they are; when the preview's
// artifact is gone before the apply, the apply still records the new inputs without
// running the container (the plan showed nothing to do, and needs no artifact for that),
// instead of running a create whose outputs would contradict the plan. A preview with
// changes whose artifact is gone is planned and applied anew, as replan says.
func TestAccRunPlan_SkipUnchangedReplan(t *testing.T) {
	e, c := faultEnv(t)
	e.grantInfra(t)
	pods := countPods(t, e)
	planFile := filepath.Join(c.dir, "p.tfplan")
	config := func(a, note string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = { infra = { name = "infra", data = { a = %q } }, note = %q }
  plan   = { skip_unchanged = true, on_stale = "replan" }
}

output "note" {
  value = containerdriver_run.test.outputs.inputs.note
}

output "applied_plan_id" {
  value = containerdriver_run.test.outputs.applied_plan_id
}
`, e.jobBlock("mount_service_account_token = true"), a, note)
	}
	artifactGone := func() {
		t.Helper()
		if err := e.client.CoreV1().Secrets(e.ns).DeleteCollection(context.Background(), metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: contract.LabelRole + "=" + contract.RolePlanPreviewChunk}); err != nil {
			t.Fatal(err)
		}
	}
	c.write(config("1", "first"))
	c.must("create", "apply", "-auto-approve")
	applied := c.output("applied_plan_id")

	c.write(config("1", "second"))
	out := c.must("plan without runner changes", "plan", "-out="+planFile)
	if !strings.Contains(out, "Runner Plan: no changes") {
		t.Fatal("the preview's no-change is not shown")
	}
	artifactGone()
	out, ok := c.applyPlanFile(planFile)
	if !ok {
		t.Fatalf("apply of a no-change plan whose artifact is gone failed: %s", tail(out, 30))
	}
	if n := pods.count(contract.ActionCreate); n != 1 {
		t.Errorf("%d create pods, want still 1: the skipped update ran the container", n)
	}
	if got := c.output("note"); got != "first" {
		t.Errorf("outputs changed (note = %q): the container ran", got)
	}
	if got := c.output("applied_plan_id"); got != applied {
		t.Errorf("applied_plan_id = %q, want still %q", got, applied)
	}
	if st := c.stateResource(); !strings.Contains(fmt.Sprint(st["inputs"]), "second") {
		t.Errorf("inputs in the state = %v, want the new ones", st["inputs"])
	}

	// A change whose artifact is gone: replanned and applied without an artifact.
	c.write(config("2", "third"))
	c.must("plan with runner changes", "plan", "-out="+planFile)
	artifactGone()
	out, ok = c.applyPlanFile(planFile)
	if !ok || !strings.Contains(out, "Runner Plan Stale: Planning Again") {
		t.Fatalf("apply with replan: %v\n%s", ok, tail(out, 30))
	}
	if n := pods.count(contract.ActionCreate); n != 2 {
		t.Errorf("%d create pods, want 2", n)
	}
	if d, _ := e.infra(t); d["a"] != "2" {
		t.Errorf("ConfigMap = %v", d)
	}
	if got := c.output("applied_plan_id"); got != "" {
		t.Errorf("applied_plan_id = %q, want none: there was no artifact", got)
	}
	c.destroyAndCheck(e)
}

// TestAccRunPlan_NoPlanBlock: a run without a plan block (a runner that does not declare
// plan support) is never asked to plan: no plan Job at plan, apply, update, refresh or
// destroy, no Runner Plan warning, no PLAN_* variable in its create, and plan_id,
// plan_summary and drift stay null.
func TestAccRunPlan_NoPlanBlock(t *testing.T) {
	e, c := faultEnv(t)
	e.grantInfra(t)
	pods := countPods(t, e)
	config := func(a string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = {
    infra    = { name = "infra", data = { a = %q } }
    echo_env = ["PLAN_FILE", "PLAN_SUMMARY_FILE", "PLAN_ARTIFACT_DIR", "PLAN_APPLY", "PLAN_DESTROY", "ACTION"]
  }
}
`, e.jobBlock("mount_service_account_token = true"), a)
	}
	c.write(config("1"))
	for _, step := range [][]string{{"plan"}, {"apply", "-auto-approve"}, {"plan", "-detailed-exitcode"}} {
		if out := c.must(strings.Join(step, " "), step...); strings.Contains(out, "Runner Plan") || strings.Contains(out, "Drift") {
			t.Errorf("%s shows a runner plan:\n%s", step[0], tail(out, 20))
		}
	}
	c.write(config("2"))
	if out := c.must("update", "apply", "-auto-approve"); strings.Contains(out, "Runner Plan") {
		t.Errorf("the update shows a runner plan")
	}
	st := c.stateResource()
	for _, a := range []string{"plan_id", "plan_summary", "drift"} {
		if st[a] != nil {
			t.Errorf("%s = %v, want null", a, st[a])
		}
	}
	outputs, _ := st["outputs"].(map[string]any)
	for k, v := range outputs {
		if strings.HasPrefix(k, "env_PLAN_") && v != "" {
			t.Errorf("the create got %s = %v", k, v)
		}
	}
	if outputs["env_ACTION"] != "create" {
		t.Errorf("env_ACTION = %v: the runner's environment was not echoed", outputs["env_ACTION"])
	}
	if out := c.must("destroy preview", "plan", "-destroy"); strings.Contains(out, "Runner Destroy Plan") {
		t.Error("the destroy is previewed")
	}
	c.destroyAndCheck(e)
	if n := pods.count(contract.ActionPlan); n != 0 {
		t.Errorf("%d plan pods, want none", n)
	}
	if n := pods.count(contract.ActionCreate); n != 2 {
		t.Errorf("%d create pods, want 2", n)
	}
}

// TestAccRunPlan_PreviewWaitsForItsNamespace: the quickstart's shape, a containerdriver_runner
// that creates the namespace and service account the run previews in. The first plan cannot
// preview (nothing exists yet): it says why instead of failing the plan, and the apply
// previews once the runner made them, shows that plan, and applies it.
func TestAccRunPlan_PreviewWaitsForItsNamespace(t *testing.T) {
	e, c := faultEnv(t)
	ns := "cd-acc-pvns-" + strings.ToLower(newRunID()[:8])
	t.Cleanup(func() {
		_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	c.write(e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_runner" "main" {
  namespace              = %q
  service_account        = "runs"
  create_namespace       = true
  create_service_account = true
}

resource "containerdriver_run" "test" {
  runner = containerdriver_runner.main.config
  job = {
    image   = %q
    command = ["/testrunner"]
  }
  inputs = { outputs = { hello = "previewed once the namespace exists" } }
  plan   = {}
}

output "hello" {
  value = containerdriver_run.test.outputs.hello
}
`, ns, e.runner))
	out := c.must("plan", "plan")
	words := strings.Join(strings.Fields(out), " ") // the CLI wraps warnings
	if !strings.Contains(words, "No Runner Plan Preview") || !strings.Contains(words, fmt.Sprintf("namespace %q does not exist yet", ns)) ||
		!strings.Contains(words, "plan_id = (known after apply)") {
		t.Errorf("the first plan does not say that the namespace does not exist yet, or plan_id is known:\n%s", out)
	}
	if _, err := e.client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s after the plan: %v, want it not to exist", ns, err)
	}
	out = c.must("apply", "apply", "-auto-approve")
	if !artifactRe.MatchString(out) {
		t.Errorf("the apply does not show the runner's plan it applies:\n%s", out)
	}
	if got := c.output("hello"); got != "previewed once the namespace exists" {
		t.Errorf("output hello = %q", got)
	}
	c.must("destroy", "destroy", "-auto-approve")
}
