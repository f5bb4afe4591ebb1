package runnerenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// The Role of a managed service account holds, per feature in use, exactly what it needs.
func TestEnv_RulesPerFeature(t *testing.T) {
	outputs := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"create"}}
	state := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "update", "delete"}}
	runnerOwn := rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create"}}
	for _, c := range []struct {
		name string
		env  Env
		want []rbacv1.PolicyRule
	}{
		{"outputs only (outputs-fetcher; pre-checks needs no rule)", Env{}, []rbacv1.PolicyRule{outputs}},
		{"state_path", Env{AllowStatePath: true}, []rbacv1.PolicyRule{outputs, state}},
		{"the runner's own rules", Env{ExtraRules: []rbacv1.PolicyRule{runnerOwn}}, []rbacv1.PolicyRule{outputs, runnerOwn}},
		{"state_path and the runner's own rules", Env{AllowStatePath: true, ExtraRules: []rbacv1.PolicyRule{runnerOwn}}, []rbacv1.PolicyRule{outputs, state, runnerOwn}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.env.Namespace, c.env.ServiceAccount, c.env.CreateServiceAccount = "runners", "runner", true
			_, _, role, _ := c.env.Objects()
			if d := cmp.Diff(c.want, role.Rules); d != "" {
				t.Errorf("role rules (-want +got):\n%s", d)
			}
		})
	}
}

// Turning state_path's rules on and off converges the Role of an existing runner.
func TestEnv_EnsureFollowsAllowStatePath(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateServiceAccount: true}
	for _, allow := range []bool{false, true, false} {
		env.AllowStatePath = allow
		if err := env.Ensure(ctx, c); err != nil {
			t.Fatal(err)
		}
		role, err := c.RbacV1().Roles("runners").Get(ctx, "runner", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := SidecarRules()
		if allow {
			want = append(want, StateRules()...)
		}
		if d := cmp.Diff(want, role.Rules); d != "" {
			t.Errorf("allow_state_path %v: role rules (-want +got):\n%s", allow, d)
		}
	}
}
