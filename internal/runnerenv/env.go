// Package runnerenv is what containerdriver_runner manages for runs: their namespace, their
// service account and its Role and RoleBinding, with the rules of the features in use.
package runnerenv

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// DefaultServiceAccount is the runner service account of the contract's examples (docs/guides/contract.md).
const DefaultServiceAccount = "humanitec-container-runner"

// Labels of the objects a runner environment manages.
const (
	// RoleRunnerEnv marks (with contract.LabelRole) the namespace, service account, Role and
	// RoleBinding created for runners; only objects carrying it are ever deleted.
	RoleRunnerEnv = "runner-env"
	// LabelPodSecurityEnforce is the Pod Security admission label a created namespace gets.
	LabelPodSecurityEnforce = "pod-security.kubernetes.io/enforce"
)

// Env is the namespace and service account runs use, and which of them are managed
// (created, kept as declared, deleted) rather than merely referred to.
type Env struct {
	Namespace      string
	ServiceAccount string
	// CreateNamespace creates the namespace, labelled for the restricted Pod Security Standard.
	CreateNamespace bool
	// CreateServiceAccount creates the service account, a Role with SidecarRules plus
	// ExtraRules, and a RoleBinding, all named ServiceAccount.
	CreateServiceAccount bool
	// AllowStatePath adds StateRules to the Role, for runs with a state directory.
	AllowStatePath bool
	// ExtraRules are appended to the Role (for a runner that keeps state in Secrets, say).
	ExtraRules []rbacv1.PolicyRule
}

// NotManagedError reports an object that exists but was not created by a runner
// environment, so it is neither adopted nor ever deleted.
type NotManagedError struct {
	Kind, Namespace, Name string
}

func (e *NotManagedError) Error() string {
	where := e.Name
	if e.Namespace != "" {
		where = e.Namespace + "/" + e.Name
	}
	return fmt.Sprintf("%s %s already exists and was not created by containerdriver", e.Kind, where)
}

func managedLabels() map[string]string {
	return map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleRunnerEnv}
}

func isManaged(m metav1.ObjectMeta) bool {
	return m.Labels[contract.LabelManagedBy] == contract.ManagedByValue && m.Labels[contract.LabelRole] == RoleRunnerEnv
}

// Objects returns the objects e manages, as they should be.
func (e Env) Objects() (*corev1.Namespace, *corev1.ServiceAccount, *rbacv1.Role, *rbacv1.RoleBinding) {
	var ns *corev1.Namespace
	if e.CreateNamespace {
		l := managedLabels()
		l[LabelPodSecurityEnforce] = "restricted"
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.Namespace, Labels: l}}
	}
	if !e.CreateServiceAccount {
		return ns, nil, nil, nil
	}
	meta := metav1.ObjectMeta{Name: e.ServiceAccount, Namespace: e.Namespace, Labels: managedLabels()}
	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	role := &rbacv1.Role{ObjectMeta: meta, Rules: e.Rules()}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: meta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: e.ServiceAccount},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: e.ServiceAccount, Namespace: e.Namespace}},
	}
	return ns, sa, role, rb
}

// Ensure creates the managed objects, or brings them back to what e declares. An object
// that exists without the runner-env labels is an error (*NotManagedError): it belongs to
// someone else. Objects created by an earlier attempt are adopted.
func (e Env) Ensure(ctx context.Context, c kubernetes.Interface) error {
	ns, sa, role, rb := e.Objects()
	if ns != nil {
		cur, err := c.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create namespace %s: %w", ns.Name, err)
			}
		case err != nil:
			return fmt.Errorf("get namespace %s: %w", ns.Name, err)
		case !isManaged(cur.ObjectMeta):
			return &NotManagedError{Kind: "namespace", Name: ns.Name}
		case cur.DeletionTimestamp != nil:
			return fmt.Errorf("namespace %s is being deleted; wait until it is gone", ns.Name)
		default:
			if !hasLabels(cur.Labels, ns.Labels) {
				cur.Labels = mergeLabels(cur.Labels, ns.Labels)
				if _, err := c.CoreV1().Namespaces().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
					return fmt.Errorf("update namespace %s: %w", ns.Name, err)
				}
			}
		}
	}
	if sa == nil {
		return nil
	}
	sas := c.CoreV1().ServiceAccounts(sa.Namespace)
	if err := ensureObject(ctx, "service account", sa, sas.Get, sas.Create, nil); err != nil {
		return err
	}
	roles := c.RbacV1().Roles(role.Namespace)
	if err := ensureObject(ctx, "role", role, roles.Get, roles.Create, func(cur *rbacv1.Role) error {
		if equalRules(cur.Rules, role.Rules) {
			return nil
		}
		cur.Rules = role.Rules
		_, err := roles.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	}); err != nil {
		return err
	}
	rbs := c.RbacV1().RoleBindings(rb.Namespace)
	return ensureObject(ctx, "role binding", rb, rbs.Get, rbs.Create, func(cur *rbacv1.RoleBinding) error {
		if cur.RoleRef == rb.RoleRef && equalSubjects(cur.Subjects, rb.Subjects) {
			return nil
		}
		if cur.RoleRef != rb.RoleRef {
			// roleRef is immutable: replace the binding.
			if err := rbs.Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			_, err := rbs.Create(ctx, rb, metav1.CreateOptions{})
			return err
		}
		cur.Subjects = rb.Subjects
		_, err := rbs.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// ensureObject creates want when no object of its name exists, refuses one that is not
// managed, and lets update (nil: nothing to keep in step) bring a managed one in line.
func ensureObject[T metav1.Object](ctx context.Context, kind string, want T,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	create func(context.Context, T, metav1.CreateOptions) (T, error),
	update func(cur T) error,
) error {
	ns, name := want.GetNamespace(), want.GetName()
	cur, err := get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s %s/%s: %w", kind, ns, name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
	case !isManaged(metav1.ObjectMeta{Labels: cur.GetLabels()}):
		return &NotManagedError{Kind: kind, Namespace: ns, Name: name}
	case update != nil:
		if err := update(cur); err != nil {
			return fmt.Errorf("update %s %s/%s: %w", kind, ns, name, err)
		}
	}
	return nil
}

// Missing lists the managed objects that do not exist (as "kind namespace/name").
func (e Env) Missing(ctx context.Context, c kubernetes.Interface) ([]string, error) {
	var missing []string
	check := func(kind, ns, name string, err error) error {
		switch {
		case apierrors.IsNotFound(err):
			where := name
			if ns != "" {
				where = ns + "/" + name
			}
			missing = append(missing, kind+" "+where)
			return nil
		case err != nil:
			return fmt.Errorf("get %s %s: %w", kind, name, err)
		}
		return nil
	}
	if e.CreateNamespace {
		_, err := c.CoreV1().Namespaces().Get(ctx, e.Namespace, metav1.GetOptions{})
		if err := check("namespace", "", e.Namespace, err); err != nil {
			return nil, err
		}
	}
	if e.CreateServiceAccount {
		_, err := c.CoreV1().ServiceAccounts(e.Namespace).Get(ctx, e.ServiceAccount, metav1.GetOptions{})
		if err := check("service account", e.Namespace, e.ServiceAccount, err); err != nil {
			return nil, err
		}
		_, err = c.RbacV1().Roles(e.Namespace).Get(ctx, e.ServiceAccount, metav1.GetOptions{})
		if err := check("role", e.Namespace, e.ServiceAccount, err); err != nil {
			return nil, err
		}
		_, err = c.RbacV1().RoleBindings(e.Namespace).Get(ctx, e.ServiceAccount, metav1.GetOptions{})
		if err := check("role binding", e.Namespace, e.ServiceAccount, err); err != nil {
			return nil, err
		}
	}
	return missing, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func mergeLabels(have, want map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range have {
		out[k] = v
	}
	for k, v := range want {
		out[k] = v
	}
	return out
}

func equalSubjects(a, b []rbacv1.Subject) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
