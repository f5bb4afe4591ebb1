package containerdriver_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// grantInfra lets the test runner manage its "infrastructure", ConfigMaps of the namespace
// (internal/testsupport/testrunner/plan.go), with the token it gets from mount_service_account_token.
func (e *env) grantInfra(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "infra", Namespace: e.ns}, Rules: []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update", "delete"}}}}
	if _, err := e.c.RbacV1().Roles(e.ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "infra", Namespace: e.ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "infra"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runner", Namespace: e.ns}}}
	if _, err := e.c.RbacV1().RoleBindings(e.ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var artifactIDRe = regexp.MustCompile(`artifact ([0-9a-f]{16})`)

// TestAccExecutor_Plan: a plan Job previews a create, an update and a destroy of the test
// runner's ConfigMap with its own Job name and label, restores the state directory but
// never saves it, changes nothing, masks the plan text, keeps the preview under its plan
// id, and a create handed the preview's artifact applies exactly it.
func TestAccExecutor_Plan(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	e.grantInfra(t)
	ctx := context.Background()
	const secret = "plan-secret-value-4711"
	spec := e.spec(t, map[string]any{
		"infra":         map[string]any{"name": "infra", "data": map[string]any{"a": "1"}},
		"count_state":   true,
		"plan_echo_env": "PLAN_SECRET",
	})
	spec.Job.MountServiceAccountToken = true
	spec.Job.SecretVariables = map[string]string{"PLAN_SECRET": secret}
	spec.State = &cd.StateSpec{Path: "/state"}
	infraData := func() (map[string]string, bool) {
		t.Helper()
		cm, err := e.c.CoreV1().ConfigMaps(e.ns).Get(ctx, "infra", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return cm.Data, true
	}
	plan := func(step string, p *cd.PlanSpec) *cd.PlanResult {
		t.Helper()
		s := *spec
		s.Plan = p
		res, rec, err := e.run(t, &s, contract.ActionPlan)
		if err != nil {
			t.Fatalf("%s: %v\n%s", step, err, detail(err))
		}
		if res.Plan == nil {
			t.Fatalf("%s: no plan in the result", step)
		}
		if !regexp.MustCompile(`created Job \S+/cd-[0-9a-f]{10}-plan-[0-9a-f]{8} \(plan\)`).MatchString(rec.all()) {
			t.Errorf("%s: no plan Job created:\n%s", step, rec.all())
		}
		if strings.Contains(res.Plan.Text, secret) || strings.Contains(rec.all(), secret) {
			t.Errorf("%s: the secret shows in the plan text or the logs:\n%s", step, res.Plan.Text)
		}
		jobs, err := e.c.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{LabelSelector: contract.LabelAction + "=" + contract.ActionPlan})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs.Items) != 0 {
			t.Errorf("%s: plan Jobs left: %d", step, len(jobs.Items))
		}
		t.Logf("%s plan:\n%s", step, res.Plan.Text)
		return res.Plan
	}

	// Preview of a create: nothing exists yet, and nothing is made.
	p := plan("create preview", &cd.PlanSpec{ID: "plan-create-1"})
	if want := (contract.PlanSummary{Add: 1, HasChanges: true}); p.Summary != want {
		t.Errorf("create preview summary = %+v, want %+v", p.Summary, want)
	}
	if !strings.Contains(p.Text, "+ create configmap/infra") || !strings.Contains(p.Text, `a = "1"`) || !strings.Contains(p.Text, "env PLAN_SECRET = ") {
		t.Errorf("create preview text:\n%s", p.Text)
	}
	if p.ImageID == "" {
		t.Error("the plan's image digest is not reported")
	}
	if _, found := infraData(); found {
		t.Fatal("the plan created the ConfigMap")
	}
	m := artifactIDRe.FindStringSubmatch(p.Text)
	if m == nil {
		t.Fatalf("no artifact id in the plan text:\n%s", p.Text)
	}
	kept, err := (&cd.Executor{Client: e.c}).LoadPreview(ctx, e.ns, "plan-create-1", true)
	if err != nil || kept == nil {
		t.Fatalf("preview not kept: %v", err)
	}
	if kept.Text != p.Text || kept.Summary != p.Summary || kept.ImageID != p.ImageID || len(kept.Artifact) == 0 || kept.Digest() != p.Digest() {
		t.Errorf("kept preview differs: %+v, want %+v", kept.PlanResult, *p)
	}

	// The create applies exactly the artifact, even though the inputs now say otherwise.
	apply := *spec
	apply.Inputs = map[string]any{"infra": map[string]any{"name": "infra", "data": map[string]any{"a": "not-previewed"}}, "count_state": true}
	apply.PlanApply = cd.NewPlanApply("plan-create-1", kept.Artifact)
	res, _, err := e.run(t, &apply, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create with the artifact: %v\n%s", err, detail(err))
	}
	if res.Outputs["applied_plan_id"] != m[1] {
		t.Errorf("applied_plan_id = %v, want the previewed %s", res.Outputs["applied_plan_id"], m[1])
	}
	if d, _ := infraData(); d["a"] != "1" {
		t.Errorf("ConfigMap data = %v, want the previewed a=1", d)
	}
	// The plan run incremented its copy of the state; it was never saved.
	if fmt.Sprint(res.Outputs["count"]) != "1" {
		t.Errorf("count after the create = %v, want 1: the plan run saved its state", res.Outputs["count"])
	}

	// Preview of an update: one change, the ConfigMap untouched.
	spec.Inputs.(map[string]any)["infra"] = map[string]any{"name": "infra", "data": map[string]any{"a": "2"}}
	p = plan("update preview", nil)
	if want := (contract.PlanSummary{Change: 1, HasChanges: true}); p.Summary != want {
		t.Errorf("update preview summary = %+v, want %+v", p.Summary, want)
	}
	if !strings.Contains(p.Text, `~ a: "1" -> "2"`) {
		t.Errorf("update preview text:\n%s", p.Text)
	}
	if d, _ := infraData(); d["a"] != "1" {
		t.Errorf("the update preview changed the ConfigMap: %v", d)
	}
	if kept, err := (&cd.Executor{Client: e.c}).LoadPreview(ctx, e.ns, "", false); err != nil || kept != nil {
		t.Errorf("a plan without a plan id kept a preview: %v %v", kept, err)
	}

	// Preview of a destroy.
	p = plan("destroy preview", &cd.PlanSpec{Destroy: true})
	if want := (contract.PlanSummary{Destroy: 1, HasChanges: true}); p.Summary != want {
		t.Errorf("destroy preview summary = %+v, want %+v", p.Summary, want)
	}
	if _, found := infraData(); !found {
		t.Fatal("the destroy preview deleted the ConfigMap")
	}

	res, _, err = e.run(t, spec, contract.ActionDestroy)
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, detail(err))
	}
	if fmt.Sprint(res.Outputs["count"]) != "1" {
		t.Errorf("count at destroy = %v, want 1: a plan run saved its state", res.Outputs["count"])
	}
	if _, found := infraData(); found {
		t.Error("destroy left the ConfigMap")
	}
	if err := (&cd.Executor{Client: e.c}).DeleteRunPreviews(ctx, e.ns, spec.RunID); err != nil {
		t.Fatal(err)
	}
	e.assertEmpty(t)
}

// TestAccExecutor_PlanHostileAndFailing: a runner whose PLAN_FILE is a symbolic link to
// the API token outputs-fetcher holds gets an InvalidPlan error, and the token shows
// nowhere; a plan that fails reports the runner's error file; both leave nothing behind.
func TestAccExecutor_PlanHostileAndFailing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	spec := e.spec(t, map[string]any{"plan_symlink": contract.APIAccessMountPath + "/token"})
	_, rec, err := e.run(t, spec, contract.ActionPlan)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonInvalidPlan || !strings.Contains(re.Message, "symbolic link") {
		t.Fatalf("a plan file that is a symbolic link: %v", err)
	}
	// A service account token is a JWT: three base64url parts, the first {"alg":...
	if strings.Contains(re.Error()+rec.all(), "eyJhbGciOi") {
		t.Error("the token shows in the error or the log")
	}
	spec = e.spec(t, map[string]any{"plan_fail": "cannot plan: backend unreachable"})
	_, _, err = e.run(t, spec, contract.ActionPlan)
	if !errors.As(err, &re) || re.Action != contract.ActionPlan || !strings.Contains(re.ErrorFile, "backend unreachable") {
		t.Fatalf("a failing plan: %v", err)
	}
	if n, err := e.c.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: contract.LabelPlanID}); err != nil || len(n.Items) != 0 {
		t.Errorf("previews kept by failed plans: %v %v", n, err)
	}
	e.assertEmpty(t)
}
