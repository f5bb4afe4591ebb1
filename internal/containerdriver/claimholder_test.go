package containerdriver

import (
	"context"
	"fmt"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Concurrent creates of one process in one namespace make one holder Lease, which all
// their claims name; it is deleted when the last claim is done with it, and the next
// create makes a new one.
func TestClaimCreate_OneHolderLeasePerProcessAndNamespace(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	var mu sync.Mutex
	holderCreates, holderDeletes := 0, 0
	c.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease); l.Labels[contract.LabelRole] == RoleClaimHolder {
			mu.Lock()
			holderCreates++
			mu.Unlock()
		}
		return false, nil, nil
	})
	c.PrependReactor("delete", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if name := a.(k8stesting.DeleteAction).GetName(); len(name) > 10 && name[:10] == "cd-claims-" {
			mu.Lock()
			holderDeletes++
			mu.Unlock()
		}
		return false, nil, nil
	})
	e := &Executor{Client: c}
	const n = 8
	claims := make([]*CreateClaim, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := minimalSpec()
			spec.Inputs = map[string]any{"i": i}
			cl, err := e.ClaimCreate(ctx, spec, func() string { return fmt.Sprintf("run-%d", i) })
			if err != nil {
				t.Error(err)
				return
			}
			claims[i] = cl
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if holderCreates != 1 {
		t.Errorf("%d concurrent claims made %d holder Leases, want 1", n, holderCreates)
	}
	keyReads := 0
	for _, a := range c.Actions() {
		if a.GetResource().Resource == "secrets" && a.GetVerb() == "get" {
			keyReads++
		}
	}
	if keyReads != 1 {
		t.Errorf("%d concurrent claims read the claim key %d times, want once", n, keyReads)
	}
	names := map[string]bool{}
	for _, cl := range claims {
		l, err := c.CoordinationV1().Leases("ns").Get(ctx, cl.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		names[l.Annotations[AnnotationClaimHolder]] = true
	}
	if len(names) != 1 || names[""] {
		t.Fatalf("claims name holders %v, want one", names)
	}
	var holder string
	for h := range names {
		holder = h
	}
	if err := claims[0].Returned(ctx); err != nil {
		t.Fatal(err)
	}
	claims[1].Abandon()
	for _, cl := range claims[2:] {
		if _, err := c.CoordinationV1().Leases("ns").Get(ctx, holder, metav1.GetOptions{}); err != nil {
			t.Fatalf("the holder Lease went while claims still hold it: %v", err)
		}
		cl.Release(ctx)
	}
	if _, err := c.CoordinationV1().Leases("ns").Get(ctx, holder, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the holder Lease stays after the last claim: %v", err)
	}
	if holderDeletes != 1 {
		t.Errorf("holder Lease deleted %d times, want 1", holderDeletes)
	}
	abandoned, err := c.CoordinationV1().Leases("ns").Get(ctx, claims[1].name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := abandoned.Annotations[AnnotationClaimHolder]; ok {
		t.Errorf("an abandoned claim still names holder %q: it would stay alive while this process lives", h)
	}
	next, err := e.ClaimCreate(ctx, minimalSpec(), func() string { return "run-next" })
	if err != nil {
		t.Fatal(err)
	}
	defer next.Release(ctx)
	l, err := c.CoordinationV1().Leases("ns").Get(ctx, next.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := l.Annotations[AnnotationClaimHolder]; h == "" || h == holder {
		t.Errorf("the next claim names holder %q (the deleted one was %q)", h, holder)
	}
	if holderCreates != 2 {
		t.Errorf("holder Leases made: %d, want 2", holderCreates)
	}
}

// A claim that names a holder Lease lives and dies with that Lease: renewed means alive
// (whatever the claim's own resourceVersion does), unchanged or gone for ClaimDuration
// means dead.
func TestHolderDead_FollowsTheHolderLease(t *testing.T) {
	if testing.Short() {
		t.Skip("watches a holder for ClaimDuration")
	}
	ctx := context.Background()
	holder := func(name string) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1",
				Labels: map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleClaimHolder}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("other#1")},
		}
	}
	claim := func(name, h string) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1",
				Annotations: map[string]string{AnnotationClaimHolder: h}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("other")},
		}
	}
	alive, dead := holder("h-alive"), holder("h-dead")
	c := fakeCluster(alive, dead, claim("c-alive", "h-alive"), claim("c-dead", "h-dead"), claim("c-gone", "h-gone"), claim("c-vanish", "h-vanish"))
	c.PrependReactor("get", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() != "h-alive" {
			return false, nil, nil
		}
		l := alive.DeepCopy()
		l.ResourceVersion = "2" // renewed by its process
		return true, l, nil
	})
	// h-vanish was listed, and is deleted before it is first observed (as by another
	// create that saw it dead).
	byName := map[string]*coordinationv1.Lease{"h-alive": alive, "h-dead": dead, "h-vanish": holder("h-vanish")}
	e := &Executor{Client: c}
	got := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range []string{"c-alive", "c-dead", "c-gone", "c-vanish"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := c.CoordinationV1().Leases("ns").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			d := e.holderDead(ctx, l, byName)
			mu.Lock()
			got[name] = d
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got["c-alive"] {
		t.Errorf("a claim whose holder Lease is renewed was taken for dead")
	}
	if !got["c-dead"] {
		t.Errorf("a claim whose holder Lease nobody renews was taken for alive")
	}
	if !got["c-vanish"] {
		t.Errorf("a claim whose holder Lease vanished while watched was taken for alive")
	}
	if !got["c-gone"] {
		t.Errorf("a claim whose holder Lease is gone was taken for alive")
	}
	if _, err := c.CoordinationV1().Leases("ns").Get(ctx, "h-dead", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the holder Lease seen dead stays: %v", err)
	}
}
