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
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
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

// FieldManager is the field manager of Ensure's server-side applies: the fields it sets
// (the labels, the Role's rules, the binding's roleRef and subjects) are owned by it, and
// taken over (Force) from whoever changed them since.
const FieldManager = "containerdriver-runner"

// Ensure creates the managed objects, or brings them back to what e declares, with
// server-side apply (so it needs patch, and create for an apply that creates, not update). An object that
// exists without the runner-env labels is an error (*NotManagedError): it belongs to
// someone else, and is read first so that an apply never adopts it. Objects created by an
// earlier attempt are adopted. Labels others added to a managed object are kept; the
// Role's rules and the binding's subjects are replaced as a whole.
func (e Env) Ensure(ctx context.Context, c kubernetes.Interface) error {
	ns, sa, role, rb := e.Objects()
	apply := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if ns != nil {
		cur, err := c.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("get namespace %s: %w", ns.Name, err)
		case !isManaged(cur.ObjectMeta):
			return &NotManagedError{Kind: "namespace", Name: ns.Name}
		case cur.DeletionTimestamp != nil:
			return fmt.Errorf("namespace %s is being deleted; wait until it is gone", ns.Name)
		}
		if _, err := c.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(ns.Name).WithLabels(ns.Labels), apply); err != nil {
			return fmt.Errorf("apply namespace %s: %w", ns.Name, err)
		}
	}
	if sa == nil {
		return nil
	}
	sas := c.CoreV1().ServiceAccounts(sa.Namespace)
	if _, err := refuseUnmanaged(ctx, "service account", sa.Namespace, sa.Name, sas.Get); err != nil {
		return err
	}
	if _, err := sas.Apply(ctx, corev1ac.ServiceAccount(sa.Name, sa.Namespace).WithLabels(sa.Labels), apply); err != nil {
		return fmt.Errorf("apply service account %s/%s: %w", sa.Namespace, sa.Name, err)
	}
	roles := c.RbacV1().Roles(role.Namespace)
	if _, err := refuseUnmanaged(ctx, "role", role.Namespace, role.Name, roles.Get); err != nil {
		return err
	}
	if _, err := roles.Apply(ctx, rbacv1ac.Role(role.Name, role.Namespace).WithLabels(role.Labels).WithRules(policyRules(role.Rules)...), apply); err != nil {
		return fmt.Errorf("apply role %s/%s: %w", role.Namespace, role.Name, err)
	}
	rbs := c.RbacV1().RoleBindings(rb.Namespace)
	cur, err := refuseUnmanaged(ctx, "role binding", rb.Namespace, rb.Name, rbs.Get)
	if err != nil {
		return err
	}
	if cur != nil && cur.RoleRef != rb.RoleRef {
		// roleRef is immutable (an apply that changes it is refused): replace the binding.
		if err := rbs.Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("replace role binding %s/%s: %w", rb.Namespace, rb.Name, err)
		}
	}
	var subjects []*rbacv1ac.SubjectApplyConfiguration
	for _, s := range rb.Subjects {
		subjects = append(subjects, rbacv1ac.Subject().WithKind(s.Kind).WithAPIGroup(s.APIGroup).WithName(s.Name).WithNamespace(s.Namespace))
	}
	ref := rbacv1ac.RoleRef().WithAPIGroup(rb.RoleRef.APIGroup).WithKind(rb.RoleRef.Kind).WithName(rb.RoleRef.Name)
	if _, err := rbs.Apply(ctx, rbacv1ac.RoleBinding(rb.Name, rb.Namespace).WithLabels(rb.Labels).WithRoleRef(ref).WithSubjects(subjects...), apply); err != nil {
		return fmt.Errorf("apply role binding %s/%s: %w", rb.Namespace, rb.Name, err)
	}
	return nil
}

// refuseUnmanaged reads the object of that name: nil when there is none, a
// *NotManagedError when it is not managed.
func refuseUnmanaged[T metav1.Object](ctx context.Context, kind, ns, name string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
) (T, error) {
	var none T
	cur, err := get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return none, nil
	case err != nil:
		return none, fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
	case !isManaged(metav1.ObjectMeta{Labels: cur.GetLabels()}):
		return none, &NotManagedError{Kind: kind, Namespace: ns, Name: name}
	}
	return cur, nil
}

// policyRules is rules as an apply configuration.
func policyRules(rules []rbacv1.PolicyRule) []*rbacv1ac.PolicyRuleApplyConfiguration {
	var out []*rbacv1ac.PolicyRuleApplyConfiguration
	for _, r := range rules {
		out = append(out, rbacv1ac.PolicyRule().WithAPIGroups(r.APIGroups...).WithResources(r.Resources...).
			WithVerbs(r.Verbs...).WithResourceNames(r.ResourceNames...).WithNonResourceURLs(r.NonResourceURLs...))
	}
	return out
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
