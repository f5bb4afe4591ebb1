package runnerenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestEnv_DeleteRemovesWhatItCreated(t *testing.T) {
	ctx := testCtx(t)
	other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "someone-else", Namespace: "runners"}}
	c := fake.NewClientset(other)
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true, CreateServiceAccount: true}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if missing, err := env.Missing(ctx, c); err != nil || len(missing) != 0 {
		t.Fatalf("Missing after Ensure = %v, %v", missing, err)
	}
	if err := env.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"namespace":       get(c.CoreV1().Namespaces().Get(ctx, "runners", metav1.GetOptions{})),
		"service account": get(c.CoreV1().ServiceAccounts("runners").Get(ctx, "runner", metav1.GetOptions{})),
		"role":            get(c.RbacV1().Roles("runners").Get(ctx, "runner", metav1.GetOptions{})),
		"role binding":    get(c.RbacV1().RoleBindings("runners").Get(ctx, "runner", metav1.GetOptions{})),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s still there after Delete (err=%v)", name, err)
		}
	}
	// The fake clientset does not cascade namespace deletion; the unrelated object in it
	// was not deleted by name.
	if _, err := c.CoreV1().ServiceAccounts("runners").Get(ctx, "someone-else", metav1.GetOptions{}); err != nil {
		t.Errorf("unrelated service account deleted: %v", err)
	}
	// Deleting again is fine (a retried destroy).
	if err := env.Delete(ctx, c); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

func TestEnv_ReleaseKeepsObjects(t *testing.T) {
	ctx := testCtx(t)
	c := fake.NewClientset()
	env := Env{Namespace: "runners", ServiceAccount: "runner", CreateNamespace: true, CreateServiceAccount: true}
	if err := env.Ensure(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := env.Release(ctx, c, true, true); err != nil {
		t.Fatal(err)
	}
	if err := env.Delete(ctx, c); err != nil {
		t.Fatal(err)
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, "runners", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("released namespace was deleted: %v", err)
	}
	if d := cmp.Diff(map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}, ns.Labels); d != "" {
		t.Errorf("released namespace labels (-want +got):\n%s", d)
	}
	if _, err := c.RbacV1().RoleBindings("runners").Get(ctx, "runner", metav1.GetOptions{}); err != nil {
		t.Errorf("released role binding was deleted: %v", err)
	}
}
