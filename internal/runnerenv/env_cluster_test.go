package runnerenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// On the real API server, objects an earlier release created and updated by hand (with
// another field manager) are taken over by Ensure's server-side apply: the Role's rules
// follow allow_state_path both ways, a subject someone added to the binding goes, and a
// label someone added to the service account stays.
func TestAccEnv_EnsureTakesOverObjectsOfEarlierReleases(t *testing.T) {
	c := testcluster.Client(t)
	ns := testcluster.Namespace(t, c)
	ctx := testCtx(t)
	env := Env{Namespace: ns, ServiceAccount: "env-runner", CreateServiceAccount: true}
	_, sa, role, rb := env.Objects()
	old := metav1.CreateOptions{FieldManager: "terraform-provider-containerdriver"}
	sa.Labels["team"] = "platform"
	if _, err := c.CoreV1().ServiceAccounts(ns).Create(ctx, sa, old); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().Roles(ns).Create(ctx, role, old); err != nil {
		t.Fatal(err)
	}
	rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "intruder", Namespace: ns})
	if _, err := c.RbacV1().RoleBindings(ns).Create(ctx, rb, old); err != nil {
		t.Fatal(err)
	}

	for _, allow := range []bool{true, false} {
		env.AllowStatePath = allow
		if err := env.Ensure(ctx, c); err != nil {
			t.Fatalf("allow_state_path %v: %v", allow, err)
		}
		got, err := c.RbacV1().Roles(ns).Get(ctx, env.ServiceAccount, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(env.Rules(), got.Rules); d != "" {
			t.Errorf("allow_state_path %v: role rules (-want +got):\n%s", allow, d)
		}
	}
	gotRB, err := c.RbacV1().RoleBindings(ns).Get(ctx, env.ServiceAccount, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, want := env.Objects()
	if d := cmp.Diff(want.Subjects, gotRB.Subjects); d != "" {
		t.Errorf("binding subjects (-want +got):\n%s", d)
	}
	gotSA, err := c.CoreV1().ServiceAccounts(ns).Get(ctx, env.ServiceAccount, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gotSA.Labels["team"] != "platform" || !isManaged(gotSA.ObjectMeta) {
		t.Errorf("service account labels %v: want team=platform kept and the runner-env labels", gotSA.Labels)
	}
}
