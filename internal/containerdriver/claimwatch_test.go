package containerdriver

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// leaseLists counts the lists of Leases the clientset was asked for.
func leaseLists(c *fake.Clientset) int {
	n := 0
	for _, a := range c.Actions() {
		if a.GetVerb() == "list" && a.GetResource().Resource == "leases" {
			n++
		}
	}
	return n
}

// specN is a spec of its own digest.
func specN(i int) *RunSpec {
	s := minimalSpec()
	s.Inputs = map[string]any{"i": i}
	return s
}

// Creates of one process in one namespace read the claims from one shared Lease informer:
// n creates at once, and more after them, list the Leases twice (the first create's own
// list, the informer's), where each create used to list them all (issue 21). A lone create
// lists and starts no informer. A create whose digest the cache shows claimed (an identical
// resource) lists from the API, and decides from that.
func TestClaimCreate_CreatesShareOneLeaseList(t *testing.T) {
	ctx := context.Background()
	lone := fakeCluster()
	cl, err := (&Executor{Client: lone}).ClaimCreate(ctx, specN(0), func() string { return "run-lone" })
	if err != nil {
		t.Fatal(err)
	}
	cl.Release(ctx)
	for _, a := range lone.Actions() {
		if a.GetVerb() == "watch" {
			t.Errorf("a lone create started a watch: %v", a)
		}
	}
	if got := leaseLists(lone); got != 1 {
		t.Errorf("a lone create listed Leases %d times, want 1", got)
	}

	c := fakeCluster()
	e := &Executor{Client: c}
	const n = 10
	claims := make([]*CreateClaim, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := e.ClaimCreate(ctx, specN(i), func() string { return fmt.Sprintf("run-%d", i) })
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
	if got := leaseLists(c); got != 2 {
		t.Errorf("%d creates at once listed Leases %d times, want 2 (the first create's and the shared informer's)", n, got)
	}
	for i := n; i < n+3; i++ {
		cl, err := e.ClaimCreate(ctx, specN(i), func() string { return fmt.Sprintf("run-%d", i) })
		if err != nil {
			t.Fatal(err)
		}
		claims = append(claims, cl)
	}
	if got := leaseLists(c); got != 2 {
		t.Errorf("3 more creates: %d Lease lists in all, want still 2", got)
	}
	// An identical resource of the same process: its digest is claimed, so it lists, and
	// gets an id of its own (a claim of this process is never adopted).
	waitCached(t, e, "ns", ClaimName("run-0"))
	same, err := e.ClaimCreate(ctx, specN(0), func() string { return "run-same" })
	if err != nil {
		t.Fatal(err)
	}
	claims = append(claims, same)
	if same.RunID != "run-same" || same.Adopted {
		t.Errorf("an identical resource got run %s (adopted %v), want its own", same.RunID, same.Adopted)
	}
	if got := leaseLists(c); got != 3 {
		t.Errorf("a create whose digest is claimed: %d Lease lists in all, want 3 (one more from the API)", got)
	}
	for _, cl := range claims {
		cl.Release(ctx)
	}
}

// waitCached waits until the namespace's Lease informer holds the Lease name.
func waitCached(t *testing.T, e *Executor, ns, name string) {
	t.Helper()
	claimWatches.Lock()
	w := claimWatches.m[sharedKey{client: e.Client, ns: ns}]
	claimWatches.Unlock()
	if w == nil {
		t.Fatalf("no Lease informer for %s", ns)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := w.inf.GetStore().GetByKey(ns + "/" + name); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Lease informer never showed %s", name)
		}
		time.Sleep(5 * time.Millisecond) //testlint:allow bare-sleep polls the informer's store
	}
}

// staleWatch installs, for the namespace "ns" of c, a Lease informer that listed leases
// once and never hears of a change again: a cache as far behind the API as it can be.
func staleWatch(t *testing.T, c *fake.Clientset, leases ...coordinationv1.Lease) *claimWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &claimWatch{lingering: lingering{cancel: cancel, refs: 1}}
	w.inf = cache.NewSharedIndexInformer(listWatch(c, func(*metav1.ListOptions) {},
		func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			return &coordinationv1.LeaseList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}, Items: leases}, nil
		},
		func(context.Context, metav1.ListOptions) (watch.Interface, error) { return watch.NewFake(), nil },
	), &coordinationv1.Lease{}, 0, cache.Indexers{})
	go w.inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), w.inf.HasSynced) {
		t.Fatal("the stale informer did not sync")
	}
	key := sharedKey{client: c, ns: "ns"}
	claimWatches.Lock()
	claimWatches.m[key] = w
	claimWatches.Unlock()
	t.Cleanup(func() {
		cancel()
		claimWatches.Lock()
		if claimWatches.m[key] == w {
			delete(claimWatches.m, key)
		}
		claimWatches.Unlock()
	})
	return w
}

// returnedClaim is a claim of another (dead) process for spec, marked returned: a create
// with the same digest adopts it.
func returnedClaim(t *testing.T, c *fake.Clientset, spec *RunSpec, runID string) *coordinationv1.Lease {
	t.Helper()
	key, err := (&Executor{Client: c}).CreateKey(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewMicroTime(time.Now())
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: ClaimName(runID), Namespace: "ns", ResourceVersion: "7",
			Labels: map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleCreateClaim,
				LabelCreateKey: key, contract.LabelRunID: runLabel(runID)},
			Annotations: map[string]string{AnnotationRunID: runID, AnnotationReturned: "true"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("a-dead-process"), RenewTime: &now},
	}
}

// The cache never decides an adoption. A cache that shows a returned claim with the
// create's digest makes the create list from the API: a claim deleted since (its run was
// recorded) is not adopted, and one still there is adopted by an update that carries the
// resourceVersion the API listed. A cache that does not show a claim the API has (made a
// moment ago) gives a new id, as a list made a moment earlier would have; and a cache whose
// watch failed lately is not used at all.
func TestClaimCreate_StaleCache(t *testing.T) {
	ctx := context.Background()
	spec := minimalSpec()

	t.Run("shows a claim deleted since", func(t *testing.T) {
		c := fakeCluster()
		staleWatch(t, c, *returnedClaim(t, c, spec, "recorded-run"))
		cl, err := (&Executor{Client: c}).ClaimCreate(ctx, spec, func() string { return "new-run" })
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release(ctx)
		if cl.Adopted || cl.RunID != "new-run" {
			t.Errorf("adopted %v run %s from a stale cache, want a new run", cl.Adopted, cl.RunID)
		}
		if got := leaseLists(c); got != 1 {
			t.Errorf("%d Lease lists from the API, want 1", got)
		}
	})

	t.Run("shows an old version of a claim still there", func(t *testing.T) {
		c := fakeCluster()
		stale := returnedClaim(t, c, spec, "lost-run")
		current := stale.DeepCopy()
		current.ResourceVersion = ""
		current.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
		if _, err := c.CoordinationV1().Leases("ns").Create(ctx, current, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		staleWatch(t, c, *stale)
		var updatedFrom []string
		c.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease); l.Name == ClaimName("lost-run") {
				updatedFrom = append(updatedFrom, l.Annotations[AnnotationClaimHolder])
			}
			return false, nil, nil
		})
		cl, err := (&Executor{Client: c}).ClaimCreate(ctx, spec, func() string { return "new-run" })
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release(ctx)
		if !cl.Adopted || cl.RunID != "lost-run" {
			t.Errorf("adopted %v run %s, want run lost-run adopted", cl.Adopted, cl.RunID)
		}
		if got := leaseLists(c); got != 1 || len(updatedFrom) != 1 {
			t.Errorf("%d Lease lists from the API and %d adopting updates, want 1 and 1", got, len(updatedFrom))
		}
	})

	t.Run("the adopting update conflicts", func(t *testing.T) {
		c := fakeCluster()
		l := returnedClaim(t, c, spec, "lost-run")
		l.ResourceVersion = ""
		if _, err := c.CoordinationV1().Leases("ns").Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		staleWatch(t, c, *returnedClaim(t, c, spec, "lost-run"))
		// Another create adopts it between this one's list and its update.
		c.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).Name == ClaimName("lost-run") {
				return true, nil, apierrors.NewConflict(coordinationv1.Resource("leases"), ClaimName("lost-run"), fmt.Errorf("changed"))
			}
			return false, nil, nil
		})
		cl, err := (&Executor{Client: c}).ClaimCreate(ctx, spec, func() string { return "new-run" })
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release(ctx)
		if cl.Adopted || cl.RunID != "new-run" {
			t.Errorf("adopted %v run %s after losing the adoption, want a new run", cl.Adopted, cl.RunID)
		}
	})

	t.Run("misses a claim made a moment ago", func(t *testing.T) {
		c := fakeCluster()
		l := returnedClaim(t, c, spec, "other-run")
		l.ResourceVersion = ""
		if _, err := c.CoordinationV1().Leases("ns").Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		staleWatch(t, c)
		cl, err := (&Executor{Client: c}).ClaimCreate(ctx, spec, func() string { return "new-run" })
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release(ctx)
		if cl.Adopted || cl.RunID != "new-run" || leaseLists(c) != 0 {
			t.Errorf("adopted %v run %s with %d lists, want a new run without a list", cl.Adopted, cl.RunID, leaseLists(c))
		}
	})

	t.Run("its watch failed lately", func(t *testing.T) {
		c := fakeCluster()
		l := returnedClaim(t, c, spec, "lost-run")
		l.ResourceVersion = ""
		if _, err := c.CoordinationV1().Leases("ns").Create(ctx, l, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		w := staleWatch(t, c)
		w.errAt = time.Now()
		cl, err := (&Executor{Client: c}).ClaimCreate(ctx, spec, func() string { return "new-run" })
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Release(ctx)
		if !cl.Adopted || cl.RunID != "lost-run" || leaseLists(c) != 1 {
			t.Errorf("adopted %v run %s with %d lists, want lost-run adopted from one list of the API", cl.Adopted, cl.RunID, leaseLists(c))
		}
	})
}

// An identity that may list Leases but not watch them (the rights releases before the
// Lease informer documented): the informer stops at the refused watch, and every create
// lists, as before, without starting the informer again.
func TestClaimCreate_WatchRefusedListsAsBefore(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	watches := 0
	var mu sync.Mutex
	c.PrependWatchReactor("leases", func(k8stesting.Action) (bool, watch.Interface, error) {
		mu.Lock()
		watches++
		mu.Unlock()
		return true, nil, apierrors.NewForbidden(coordinationv1.Resource("leases"), "", fmt.Errorf("no watch"))
	})
	e := &Executor{Client: c}
	spec := minimalSpec()
	first, err := e.ClaimCreate(ctx, spec, func() string { return "run-a" })
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Returned(ctx); err != nil {
		t.Fatal(err)
	}
	second, err := e.ClaimCreate(ctx, specN(9), func() string { return "run-b" }) // starts the informer
	if err != nil {
		t.Fatal(err)
	}
	second.Release(ctx)
	// Wait until the refusal is known (the informer's list may have served the first create).
	deadline := time.Now().Add(5 * time.Second)
	for {
		claimWatches.Lock()
		refused := claimWatches.refused[sharedKey{client: c, ns: "ns"}]
		claimWatches.Unlock()
		if refused {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused watch was never noticed")
		}
		time.Sleep(5 * time.Millisecond) //testlint:allow bare-sleep polls for the informer's error handler
	}
	before := leaseLists(c)
	mu.Lock()
	watchesBefore := watches
	mu.Unlock()
	for i := range 3 {
		cl, err := e.ClaimCreate(ctx, specN(i), func() string { return fmt.Sprintf("run-%d", i) })
		if err != nil {
			t.Fatal(err)
		}
		cl.Release(ctx)
	}
	if got := leaseLists(c) - before; got != 3 {
		t.Errorf("3 creates without the watch right listed %d times, want 3", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if watches != watchesBefore {
		t.Errorf("the refused watch was tried again %d times", watches-watchesBefore)
	}
}
