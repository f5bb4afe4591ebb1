package provider

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
)

// The provider identity's rights for containerdriver_runner, as the Requirements guide
// (docs-templates/guides/requirements.md.tmpl) lists them: keep the two the same.
var (
	// documentedRunnerNamespaceRules: create_namespace = true (cluster-wide).
	documentedRunnerNamespaceRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
	}
	// documentedRunnerServiceAccountRules: create_service_account = true, in the
	// namespace, with what the Role grants (the sidecars' rules, allow_state_path's).
	documentedRunnerServiceAccountRules = []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "create", "patch", "delete"}},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}, Verbs: []string{"get", "create", "patch", "delete"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"create"}},
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "update", "delete"}},
	}
)

// TestAccRunner_DocumentedProviderRightsSuffice runs containerdriver_runner, through the
// CLI, as a service account with exactly the rights the Requirements guide documents for
// it (patch, not update: the objects are server-side applied): it creates a namespace
// and a service account with its Role and RoleBinding, changes the Role
// (allow_state_path), destroys them, creates them again and releases them (create_* set
// to false keeps the objects without the runner-env labels).
func TestAccRunner_DocumentedProviderRightsSuffice(t *testing.T) {
	t.Parallel()
	e, c := faultEnv(t)
	ctx := context.Background()
	const identity = "runner-identity"
	e.kubeconfig = identityKubeconfig(t, e, identity, documentedRunnerServiceAccountRules)
	// The namespace rights are cluster-wide: a ClusterRole bound to the same identity.
	crName := "containerdriver-test-" + e.ns
	if _, err := e.client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: crName}, Rules: documentedRunnerNamespaceRules,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: crName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: crName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: identity, Namespace: e.ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	managedNS := e.ns + "-env"
	t.Cleanup(func() {
		ctx := context.Background()
		_ = e.client.RbacV1().ClusterRoleBindings().Delete(ctx, crName, metav1.DeleteOptions{})
		_ = e.client.RbacV1().ClusterRoles().Delete(ctx, crName, metav1.DeleteOptions{})
		_ = e.client.CoreV1().Namespaces().Delete(ctx, managedNS, metav1.DeleteOptions{})
	})

	const sa = "managed-runner"
	config := func(manage, allowState bool) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_runner" "ns" {
  namespace        = %q
  service_account  = "default"
  create_namespace = %v
}

resource "containerdriver_runner" "sa" {
  namespace              = %q
  service_account        = %q
  create_service_account = %v
  allow_state_path       = %v
}
`, managedNS, manage, e.ns, sa, manage, allowState)
	}
	managed := func(labels map[string]string) bool {
		return labels[contract.LabelRole] == runnerenv.RoleRunnerEnv && labels[contract.LabelManagedBy] == contract.ManagedByValue
	}
	check := func(step string, wantExist, wantManaged bool, wantRules []rbacv1.PolicyRule) {
		t.Helper()
		type obj struct {
			kind   string
			labels map[string]string
			err    error
		}
		ns, nsErr := e.client.CoreV1().Namespaces().Get(ctx, managedNS, metav1.GetOptions{})
		if nsErr == nil && ns.DeletionTimestamp != nil {
			nsErr = apierrors.NewNotFound(corev1.Resource("namespaces"), managedNS) // on its way out
		}
		s, saErr := e.client.CoreV1().ServiceAccounts(e.ns).Get(ctx, sa, metav1.GetOptions{})
		r, rErr := e.client.RbacV1().Roles(e.ns).Get(ctx, sa, metav1.GetOptions{})
		b, bErr := e.client.RbacV1().RoleBindings(e.ns).Get(ctx, sa, metav1.GetOptions{})
		for _, o := range []obj{{"namespace", ns.GetLabels(), nsErr}, {"service account", s.GetLabels(), saErr}, {"role", r.GetLabels(), rErr}, {"role binding", b.GetLabels(), bErr}} {
			switch {
			case !wantExist && !apierrors.IsNotFound(o.err):
				t.Errorf("%s: the %s is still there (err=%v)", step, o.kind, o.err)
			case wantExist && o.err != nil:
				t.Errorf("%s: the %s: %v", step, o.kind, o.err)
			case wantExist && managed(o.labels) != wantManaged:
				t.Errorf("%s: the %s's labels %v, want managed = %v", step, o.kind, o.labels, wantManaged)
			}
		}
		if wantRules != nil && rErr == nil {
			if fmt.Sprint(r.Rules) != fmt.Sprint(wantRules) {
				t.Errorf("%s: role rules %v, want %v", step, r.Rules, wantRules)
			}
		}
	}

	c.write(config(true, false))
	c.must("create", "apply", "-auto-approve")
	check("create", true, true, runnerenv.SidecarRules())
	c.write(config(true, true))
	c.must("allow_state_path", "apply", "-auto-approve")
	check("allow_state_path", true, true, append(runnerenv.SidecarRules(), runnerenv.StateRules()...))
	c.must("destroy", "destroy", "-auto-approve")
	check("destroy", false, false, nil)
	c.must("create again", "apply", "-auto-approve")
	check("create again", true, true, nil)
	c.write(config(false, false))
	c.must("release", "apply", "-auto-approve")
	check("release", true, false, nil)
	c.must("destroy after release", "destroy", "-auto-approve")
	check("destroy after release", true, false, nil)
}
