package runnerenv

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var stateRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "list", "create", "update", "delete"}},
}

func TestEnv_EnsureCreatesExactObjects(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true, CreateServiceAccount: true, ExtraRules: stateRules}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	managed := map[string]string{"app.kubernetes.io/managed-by": "containerdriver", "containerdriver.io/role": "runner-env"}

	ns, err := c.CoreV1().Namespaces().Get(ctx, "runners", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "runners", Labels: map[string]string{
		"app.kubernetes.io/managed-by": "containerdriver", "containerdriver.io/role": "runner-env",
		"pod-security.kubernetes.io/enforce": "restricted",
	}}}
	if d := cmp.Diff(wantNS, ns, ignoreServerFields); d != "" {
		t.Errorf("namespace (-want +got):\n%s", d)
	}
	sa, err := c.CoreV1().ServiceAccounts("runners").Get(ctx, "runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	meta := metav1.ObjectMeta{Name: "runner", Namespace: "runners", Labels: managed}
	if d := cmp.Diff(&corev1.ServiceAccount{ObjectMeta: meta}, sa, ignoreServerFields); d != "" {
		t.Errorf("service account (-want +got):\n%s", d)
	}
	role, err := c.RbacV1().Roles("runners").Get(ctx, "runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRole := &rbacv1.Role{ObjectMeta: meta, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"create"}},
		stateRules[0], stateRules[1],
	}}
	if d := cmp.Diff(wantRole, role, ignoreServerFields); d != "" {
		t.Errorf("role (-want +got):\n%s", d)
	}
	rb, err := c.RbacV1().RoleBindings("runners").Get(ctx, "runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRB := &rbacv1.RoleBinding{
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "runner"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "runner", Namespace: "runners"}},
	}
	if d := cmp.Diff(wantRB, rb, ignoreServerFields); d != "" {
		t.Errorf("role binding (-want +got):\n%s", d)
	}

	// A second Ensure (a retry, an update) adopts its own objects and converges the Role.
	env.ExtraRules = nil
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatalf("second ensure: %v", err)
	}
	role, _ = c.RbacV1().Roles("runners").Get(ctx, "runner", metav1.GetOptions{})
	if d := cmp.Diff(SidecarRules(), role.Rules); d != "" {
		t.Errorf("role rules after removing extra rules (-want +got):\n%s", d)
	}
}

func TestEnv_NothingManagedTouchesNothing(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner"}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := env.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if n := len(c.Actions()); n != 0 {
		t.Errorf("expected no API calls, got %d: %v", n, c.Actions())
	}
}

func TestEnv_RefusesObjectsItDidNotCreate(t *testing.T) {
	ctx := testCtx(t)
	theirs := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "runners"}}
	theirSA := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner", Namespace: "existing"}}
	c := fake.NewClientset(theirs, theirSA)

	err := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true}.Ensure(ctx, c)
	var nm *NotManagedError
	if !errors.As(err, &nm) || nm.Kind != "namespace" || nm.Name != "runners" {
		t.Errorf("namespace: want NotManagedError for namespace runners, got %v", err)
	}
	err = Env{Namespace: "existing", ServiceAccount: "runner", CreateServiceAccount: true}.Ensure(ctx, c)
	if !errors.As(err, &nm) || nm.Kind != "service account" {
		t.Errorf("service account: want NotManagedError, got %v", err)
	}
	// And Delete leaves them alone.
	if err := (Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true}).Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Namespaces().Get(ctx, "runners", metav1.GetOptions{}); err != nil {
		t.Errorf("a namespace not created by containerdriver was deleted: %v", err)
	}
	if err := (Env{Namespace: "existing", ServiceAccount: "runner", CreateServiceAccount: true}).Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ServiceAccounts("existing").Get(ctx, "runner", metav1.GetOptions{}); err != nil {
		t.Errorf("a service account not created by containerdriver was deleted: %v", err)
	}
}

func TestEnv_MissingReportsDeletedObjects(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true, CreateServiceAccount: true}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := c.RbacV1().Roles("runners").Delete(ctx, "runner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	missing, err := env.Missing(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"role runners/runner"}, missing); d != "" {
		t.Errorf("missing (-want +got):\n%s", d)
	}
}

func TestEnv_EnsureFixesRoleBinding(t *testing.T) {
	ctx := testCtx(t)
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateServiceAccount: true}
	_, _, _, rb := env.Objects()
	rb.Subjects = []rbacv1.Subject{{Kind: "ServiceAccount", Name: "intruder", Namespace: "runners"}}
	rb.RoleRef.Name = "cluster-admin-ish"
	c := fake.NewClientset(rb)
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := c.RbacV1().RoleBindings("runners").Get(ctx, "runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, want := env.Objects()
	if d := cmp.Diff(want.Subjects, got.Subjects); d != "" {
		t.Errorf("subjects (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want.RoleRef, got.RoleRef); d != "" {
		t.Errorf("roleRef (-want +got):\n%s", d)
	}
}

// ignoreServerFields drops what the (fake) API server fills in.
var ignoreServerFields = cmp.Options{
	cmpopts.IgnoreTypes(metav1.TypeMeta{}),
	cmpopts.IgnoreFields(metav1.ObjectMeta{}, "ManagedFields"),
}

func get[T any](_ T, err error) error { return err }

// Ensure server-side applies every object under its field manager (the rights it needs are
// get, patch and, for an apply that creates, create: not update), and Release patches.
func TestEnv_EnsureAppliesAndReleasePatches(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true, CreateServiceAccount: true}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	env.AllowStatePath = true
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := env.Release(ctx, c, true, true); err != nil {
		t.Fatal(err)
	}
	applied := map[string]int{}
	for _, a := range c.Actions() {
		switch a.GetVerb() {
		case "get":
		case "patch":
			p := a.(k8stesting.PatchAction)
			if p.GetPatchType() == types.ApplyPatchType {
				applied[a.GetResource().Resource]++
			}
		default:
			t.Errorf("%s %s: Ensure and Release only get and patch", a.GetVerb(), a.GetResource().Resource)
		}
	}
	if d := cmp.Diff(map[string]int{"namespaces": 2, "serviceaccounts": 2, "roles": 2, "rolebindings": 2}, applied); d != "" {
		t.Errorf("server-side applies per resource (-want +got):\n%s", d)
	}
	role, err := c.RbacV1().Roles("runners").Get(ctx, "runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var managers []string
	for _, m := range role.ManagedFields {
		managers = append(managers, m.Manager)
	}
	if !slices.Contains(managers, FieldManager) {
		t.Errorf("the Role's field managers are %v, want %s among them", managers, FieldManager)
	}
}

// Labels someone else added to a managed namespace stay; the ones Ensure sets come back.
func TestEnv_EnsureKeepsOthersLabels(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, "runners", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels["team"] = "platform"
	ns.Labels[LabelPodSecurityEnforce] = "baseline"
	if _, err := c.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{FieldManager: "someone"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	ns, err = c.CoreV1().Namespaces().Get(ctx, "runners", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"app.kubernetes.io/managed-by": "containerdriver", "containerdriver.io/role": "runner-env",
		LabelPodSecurityEnforce: "restricted", "team": "platform",
	}
	if d := cmp.Diff(want, ns.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
}
