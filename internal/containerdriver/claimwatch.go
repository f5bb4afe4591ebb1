package containerdriver

import (
	"context"
	"errors"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The create claims and claim-holder Leases of a namespace, as one label-selected Lease
// informer of the process sees them (issue 21): a create used to list every claim of the
// namespace, so 50 creates at once made 50 lists of about 50 Leases each. Now the creates
// of one client in one namespace share one list and one watch, in the style of the shared
// watches of informers.go: started by the first claim that needs it, held while a claim of
// the process is in flight there, stopped SharedWatchLinger after the last one is done.
//
// The cache answers one question only: is there a claim with this create's digest? When
// there is none, the create makes its claim without a read. When there is one, the create
// lists the claims from the API and decides from that list, exactly as before the cache
// (adoption, the holder's liveness observed for ClaimDuration, the adopting update with the
// resourceVersion listed). So the cache never decides an adoption; what it can miss is a
// claim with the same digest made in the last moments (the watch's delay), whose holder was
// alive when it made it: a live claim is never adopted, so such a create takes a new id as
// it would have from a list. The report of interrupted creates (orphans) and the tidying of
// dead holders' Leases (with a resourceVersion precondition) read the cache as well.
//
// The cache is not used, and the create lists as before, when it has not synced within
// claimWatchSyncWait, or its list or watch failed in the last ClaimDuration (it may be
// behind). When the API refuses the watch (a provider identity without `watch` on leases,
// as the requirements of releases before it said), the informer stops and the process
// lists for every create in that namespace, as before.

// claimWatchSyncWait bounds a create's wait for the Lease informer's first list.
var claimWatchSyncWait = 10 * time.Second

// claimSelector selects the create claims and the claim-holder Leases.
var claimSelector = contract.LabelManagedBy + "=" + contract.ManagedByValue + "," +
	contract.LabelRole + " in (" + RoleCreateClaim + "," + RoleClaimHolder + ")"

type claimWatch struct {
	inf cache.SharedIndexInformer

	lingering // held by the claims in flight (holdClaimWatch), under claimWatches' lock

	mu      sync.Mutex
	errAt   time.Time // when the list or watch last failed
	refused bool      // the API refused the list or watch: the informer stopped
}

var claimWatches = struct {
	sync.Mutex
	m map[sharedKey]*claimWatch
	// refused remembers the namespaces where the API refused the Lease watch, so that the
	// process does not try again for each create.
	refused map[sharedKey]bool
	// last is when a create of the process last claimed in the namespace.
	last map[sharedKey]time.Time
}{m: map[sharedKey]*claimWatch{}, refused: map[sharedKey]bool{}, last: map[sharedKey]time.Time{}}

// holdClaimWatch returns the namespace's Lease informer, starting it if needed, and the
// function that gives it back; nil (and a no-op) when the API refused it before, and for
// the first create of the process in the namespace (none in the last SharedWatchLinger):
// an informer costs a list and a watch (more where the API server serves no watch-list
// stream), so a lone create lists, as before, and the informer starts with a second one.
func (e *Executor) holdClaimWatch(ns string) (*claimWatch, func()) {
	key := sharedKey{client: e.Client, ns: ns}
	claimWatches.Lock()
	defer claimWatches.Unlock()
	if claimWatches.refused[key] {
		return nil, func() {}
	}
	last, seen := claimWatches.last[key]
	claimWatches.last[key] = time.Now()
	w := claimWatches.m[key]
	if w == nil && (!seen || time.Since(last) > SharedWatchLinger) {
		return nil, func() {}
	}
	if w == nil {
		w = newClaimWatch(e, key)
		claimWatches.m[key] = w
	}
	return w, w.hold(&claimWatches.Mutex, func() bool { return claimWatches.m[key] == w }, func() { delete(claimWatches.m, key) })
}

func newClaimWatch(e *Executor, key sharedKey) *claimWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &claimWatch{lingering: lingering{cancel: cancel}}
	leases := e.Client.CoordinationV1().Leases(key.ns)
	w.inf = cache.NewSharedIndexInformer(listWatch(e.Client, func(o *metav1.ListOptions) { o.LabelSelector = claimSelector },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return leases.List(ctx, o) },
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return leases.Watch(ctx, o) },
	), &coordinationv1.Lease{}, 0, cache.Indexers{})
	_ = w.inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.mu.Lock()
		w.errAt = time.Now()
		refused := apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err)
		if refused {
			w.refused = true
		}
		w.mu.Unlock()
		if refused {
			// No use retrying for every create: the namespace's creates list from now on.
			claimWatches.Lock()
			claimWatches.refused[key] = true
			if claimWatches.m[key] == w {
				delete(claimWatches.m, key)
			}
			claimWatches.Unlock()
			cancel()
		}
	})
	go w.inf.RunWithContext(ctx)
	return w
}

// leases returns the claims and holder Leases the informer holds (copies), once it has
// synced; ok is false when the create must list them from the API instead: no informer,
// not synced within claimWatchSyncWait, refused, or a list or watch error in the last
// ClaimDuration (then at once, without waiting).
func (w *claimWatch) leases(ctx context.Context) (items []coordinationv1.Lease, ok bool) {
	if w == nil {
		return nil, false
	}
	usable := func() (bool, bool) { // usable, give up waiting
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.refused || (!w.errAt.IsZero() && time.Since(w.errAt) <= ClaimDuration) {
			return false, true
		}
		return w.inf.HasSynced(), false
	}
	if err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, claimWatchSyncWait, true, func(context.Context) (bool, error) {
		u, giveUp := usable()
		if giveUp {
			return false, errors.New("the lease watch was refused")
		}
		return u, nil
	}); err != nil {
		return nil, false
	}
	for _, o := range w.inf.GetStore().List() {
		if l, isLease := o.(*coordinationv1.Lease); isLease {
			items = append(items, *l.DeepCopy())
		}
	}
	return items, true
}
