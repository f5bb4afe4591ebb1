package containerdriver

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

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

// RunnerEnv is the namespace and service account runs use, and which of them are managed
// (created, kept as declared, deleted) rather than merely referred to.
type RunnerEnv struct {
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

// SidecarRules are exactly the permissions a run's pod needs (contract.SidecarPermissions,
// which pre-checks checks): one rule per verb, on the core API group.
func SidecarRules() []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, p := range contract.SidecarPermissions() {
		if n := len(rules); n > 0 && rules[n-1].Verbs[0] == p.Verb {
			rules[n-1].Resources = append(rules[n-1].Resources, p.Resource)
			continue
		}
		rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{p.Resource}, Verbs: []string{p.Verb}})
	}
	return rules
}

func managedLabels() map[string]string {
	return map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleRunnerEnv}
}

func isManaged(m metav1.ObjectMeta) bool {
	return m.Labels[contract.LabelManagedBy] == contract.ManagedByValue && m.Labels[contract.LabelRole] == RoleRunnerEnv
}

// Objects returns the objects e manages, as they should be.
func (e RunnerEnv) Objects() (*corev1.Namespace, *corev1.ServiceAccount, *rbacv1.Role, *rbacv1.RoleBinding) {
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
func (e RunnerEnv) Ensure(ctx context.Context, c kubernetes.Interface) error {
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
	if err := ensureObject(ctx, "service account", sa.Name, sa.Namespace,
		func() (metav1.ObjectMeta, error) {
			cur, err := c.CoreV1().ServiceAccounts(sa.Namespace).Get(ctx, sa.Name, metav1.GetOptions{})
			if err != nil {
				return metav1.ObjectMeta{}, err
			}
			return cur.ObjectMeta, nil
		},
		func() error {
			_, err := c.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{})
			return err
		},
		nil,
	); err != nil {
		return err
	}
	var curRole *rbacv1.Role
	if err := ensureObject(ctx, "role", role.Name, role.Namespace,
		func() (metav1.ObjectMeta, error) {
			var err error
			curRole, err = c.RbacV1().Roles(role.Namespace).Get(ctx, role.Name, metav1.GetOptions{})
			if err != nil {
				return metav1.ObjectMeta{}, err
			}
			return curRole.ObjectMeta, nil
		},
		func() error {
			_, err := c.RbacV1().Roles(role.Namespace).Create(ctx, role, metav1.CreateOptions{})
			return err
		},
		func() error {
			if equalRules(curRole.Rules, role.Rules) {
				return nil
			}
			curRole.Rules = role.Rules
			_, err := c.RbacV1().Roles(role.Namespace).Update(ctx, curRole, metav1.UpdateOptions{})
			return err
		},
	); err != nil {
		return err
	}
	var curRB *rbacv1.RoleBinding
	return ensureObject(ctx, "role binding", rb.Name, rb.Namespace,
		func() (metav1.ObjectMeta, error) {
			var err error
			curRB, err = c.RbacV1().RoleBindings(rb.Namespace).Get(ctx, rb.Name, metav1.GetOptions{})
			if err != nil {
				return metav1.ObjectMeta{}, err
			}
			return curRB.ObjectMeta, nil
		},
		func() error {
			_, err := c.RbacV1().RoleBindings(rb.Namespace).Create(ctx, rb, metav1.CreateOptions{})
			return err
		},
		func() error {
			if curRB.RoleRef == rb.RoleRef && equalSubjects(curRB.Subjects, rb.Subjects) {
				return nil
			}
			if curRB.RoleRef != rb.RoleRef {
				// roleRef is immutable: replace the binding.
				if err := c.RbacV1().RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return err
				}
				_, err := c.RbacV1().RoleBindings(rb.Namespace).Create(ctx, rb, metav1.CreateOptions{})
				return err
			}
			curRB.Subjects = rb.Subjects
			_, err := c.RbacV1().RoleBindings(rb.Namespace).Update(ctx, curRB, metav1.UpdateOptions{})
			return err
		},
	)
}

// ensureObject creates an object that does not exist, refuses one that is not managed,
// and updates (update may be nil) one that is.
func ensureObject(_ context.Context, kind, name, namespace string, get func() (metav1.ObjectMeta, error), create, update func() error) error {
	meta, err := get()
	switch {
	case apierrors.IsNotFound(err):
		if err := create(); err != nil {
			return fmt.Errorf("create %s %s/%s: %w", kind, namespace, name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("get %s %s/%s: %w", kind, namespace, name, err)
	case !isManaged(meta):
		return &NotManagedError{Kind: kind, Namespace: namespace, Name: name}
	case update != nil:
		if err := update(); err != nil {
			return fmt.Errorf("update %s %s/%s: %w", kind, namespace, name, err)
		}
	}
	return nil
}

// Missing lists the managed objects that do not exist (as "kind namespace/name").
func (e RunnerEnv) Missing(ctx context.Context, c kubernetes.Interface) ([]string, error) {
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

// Delete deletes the managed objects, only those carrying the runner-env labels, and waits
// until a deleted namespace is gone so that it can be created again at once.
func (e RunnerEnv) Delete(ctx context.Context, c kubernetes.Interface) error {
	if e.CreateServiceAccount {
		if err := e.deleteServiceAccountObjects(ctx, c); err != nil {
			return err
		}
	}
	if !e.CreateNamespace {
		return nil
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, e.Namespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("get namespace %s: %w", e.Namespace, err)
	case !isManaged(ns.ObjectMeta):
		return nil
	}
	if err := c.CoreV1().Namespaces().Delete(ctx, e.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete namespace %s: %w", e.Namespace, err)
	}
	return waitNamespaceGone(ctx, c, e.Namespace)
}

func (e RunnerEnv) deleteServiceAccountObjects(ctx context.Context, c kubernetes.Interface) error {
	ns, name := e.Namespace, e.ServiceAccount
	if err := deleteManaged(ctx, "role binding", ns, name, c.RbacV1().RoleBindings(ns).Get, c.RbacV1().RoleBindings(ns).Delete); err != nil {
		return err
	}
	if err := deleteManaged(ctx, "role", ns, name, c.RbacV1().Roles(ns).Get, c.RbacV1().Roles(ns).Delete); err != nil {
		return err
	}
	return deleteManaged(ctx, "service account", ns, name, c.CoreV1().ServiceAccounts(ns).Get, c.CoreV1().ServiceAccounts(ns).Delete)
}

// deleteManaged deletes one object if it exists and carries the runner-env labels.
func deleteManaged[T metav1.Object](ctx context.Context, kind, ns, name string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	del func(context.Context, string, metav1.DeleteOptions) error,
) error {
	x, err := get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("get %s %s/%s: %w", kind, ns, name, err)
	case !isManaged(metav1.ObjectMeta{Labels: x.GetLabels()}):
		return nil
	}
	if err := del(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s %s/%s: %w", kind, ns, name, err)
	}
	return nil
}

// DeleteServiceAccount deletes the managed service account, Role and RoleBinding only
// (after a rename of the service account).
func (e RunnerEnv) DeleteServiceAccount(ctx context.Context, c kubernetes.Interface) error {
	if !e.CreateServiceAccount {
		return nil
	}
	return e.deleteServiceAccountObjects(ctx, c)
}

// Release stops managing objects without deleting them: it removes the runner-env labels
// from the namespace (namespace true) and from the service account, Role and RoleBinding
// (serviceAccount true), so a later Delete leaves them alone.
func (e RunnerEnv) Release(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount bool) error {
	var errs []error
	note := func(kind string, err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("release %s: %w", kind, err))
		}
	}
	if namespace {
		note("namespace", release(ctx, e.Namespace, c.CoreV1().Namespaces().Get, c.CoreV1().Namespaces().Update))
	}
	if serviceAccount {
		ns, name := e.Namespace, e.ServiceAccount
		note("service account", release(ctx, name, c.CoreV1().ServiceAccounts(ns).Get, c.CoreV1().ServiceAccounts(ns).Update))
		note("role", release(ctx, name, c.RbacV1().Roles(ns).Get, c.RbacV1().Roles(ns).Update))
		note("role binding", release(ctx, name, c.RbacV1().RoleBindings(ns).Get, c.RbacV1().RoleBindings(ns).Update))
	}
	return errors.Join(errs...)
}

// release removes the runner-env labels from one object, if it carries them.
func release[T metav1.Object](ctx context.Context, name string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	update func(context.Context, T, metav1.UpdateOptions) (T, error),
) error {
	x, err := get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	l := x.GetLabels()
	if l[contract.LabelRole] != RoleRunnerEnv {
		return nil
	}
	delete(l, contract.LabelRole)
	delete(l, contract.LabelManagedBy)
	x.SetLabels(l)
	_, err = update(ctx, x, metav1.UpdateOptions{})
	return err
}

// waitNamespaceGone watches the namespace until it is deleted or ctx ends.
func waitNamespaceGone(ctx context.Context, c kubernetes.Interface, name string) error {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := listWatch(func(o *metav1.ListOptions) { o.FieldSelector = selector },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Namespaces().List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Namespaces().Watch(ctx, o)
		})
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Namespace{},
		func(store cache.Store) (bool, error) {
			_, exists, err := store.GetByKey(name)
			return !exists, err
		},
		func(ev watch.Event) (bool, error) {
			ns, ok := ev.Object.(*corev1.Namespace)
			return ev.Type == watch.Deleted && ok && ns.Name == name, nil
		},
	)
	if err != nil {
		return fmt.Errorf("wait for namespace %s to be deleted: %w", name, err)
	}
	return nil
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

func equalRules(a, b []rbacv1.PolicyRule) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalStrings(a[i].APIGroups, b[i].APIGroups) || !equalStrings(a[i].Resources, b[i].Resources) ||
			!equalStrings(a[i].Verbs, b[i].Verbs) || !equalStrings(a[i].ResourceNames, b[i].ResourceNames) ||
			!equalStrings(a[i].NonResourceURLs, b[i].NonResourceURLs) {
			return false
		}
	}
	return true
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
