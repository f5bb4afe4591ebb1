package runnerenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Deleting and releasing what a runner environment manages: only objects that carry its
// label are deleted.

// Delete deletes the managed objects, only those carrying the runner-env labels, and waits
// until a deleted namespace is gone so that it can be created again at once.
func (e Env) Delete(ctx context.Context, c kubernetes.Interface) error {
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

func (e Env) deleteServiceAccountObjects(ctx context.Context, c kubernetes.Interface) error {
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
func (e Env) DeleteServiceAccount(ctx context.Context, c kubernetes.Interface) error {
	if !e.CreateServiceAccount {
		return nil
	}
	return e.deleteServiceAccountObjects(ctx, c)
}

// Release stops managing objects without deleting them: it removes the runner-env labels
// from the namespace (namespace true) and from the service account, Role and RoleBinding
// (serviceAccount true), so a later Delete leaves them alone. It patches (a JSON merge
// patch, guarded by the resourceVersion it read), as Ensure's applies do, so the provider
// needs patch on them, not update.
func (e Env) Release(ctx context.Context, c kubernetes.Interface, namespace, serviceAccount bool) error {
	var errs []error
	note := func(kind string, err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("release %s: %w", kind, err))
		}
	}
	if namespace {
		note("namespace", release(ctx, e.Namespace, c.CoreV1().Namespaces().Get, c.CoreV1().Namespaces().Patch))
	}
	if serviceAccount {
		ns, name := e.Namespace, e.ServiceAccount
		note("service account", release(ctx, name, c.CoreV1().ServiceAccounts(ns).Get, c.CoreV1().ServiceAccounts(ns).Patch))
		note("role", release(ctx, name, c.RbacV1().Roles(ns).Get, c.RbacV1().Roles(ns).Patch))
		note("role binding", release(ctx, name, c.RbacV1().RoleBindings(ns).Get, c.RbacV1().RoleBindings(ns).Patch))
	}
	return errors.Join(errs...)
}

// release removes the runner-env labels from one object, if it carries them.
func release[T metav1.Object](ctx context.Context, name string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	patch func(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error),
) error {
	x, err := get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if x.GetLabels()[contract.LabelRole] != RoleRunnerEnv {
		return nil
	}
	// null deletes a key in a merge patch; the resourceVersion makes it fail with a
	// conflict if the object changed since it was read, as an update would.
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"resourceVersion": x.GetResourceVersion(),
		"labels":          map[string]any{contract.LabelRole: nil, contract.LabelManagedBy: nil},
	}})
	if err != nil {
		return err
	}
	_, err = patch(ctx, name, types.MergePatchType, body, metav1.PatchOptions{FieldManager: FieldManager})
	return err
}

// waitNamespaceGone watches the namespace until it is deleted or ctx ends.
func waitNamespaceGone(ctx context.Context, c kubernetes.Interface, name string) error {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = selector
			return c.CoreV1().Namespaces().List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = selector
			return c.CoreV1().Namespaces().Watch(ctx, o)
		},
	}, c) // whether the client serves watch-list streams (the fake clientset does not)
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
