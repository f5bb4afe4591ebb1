package containerdriver

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A provider process renews one Lease per namespace (and client) for all the create claims
// it holds there, instead of one per claim: each claim names that Lease in
// AnnotationClaimHolder and is written only when it is made, adopted, marked returned or
// released. A claim is alive while the Lease it names is renewed. So a process with N
// creates in flight in a namespace costs one update every claimRenew, not N gets and N
// updates, and the claims never contend on a shared object.
const (
	// AnnotationClaimHolder names, on a create claim, the Lease of the process that holds it.
	AnnotationClaimHolder = "containerdriver.io/claim-holder"
	// RoleClaimHolder is the role label of a process's claim-holder Lease.
	RoleClaimHolder = "create-claim-holder"
)

// claimHolder is this process's claim-holder Lease in one namespace (for one client): it
// exists, and is renewed, while at least one create claim of the process there refers to it.
type claimHolder struct {
	key      sharedKey
	identity string // this process's id and a sequence number: one Lease per holder
	name     string

	mu   sync.Mutex // guards made, err and last; held while the Lease is made
	made bool
	err  error
	last *coordinationv1.Lease
	stop chan struct{}
	done sync.WaitGroup
	refs int // under holders' lock

	secretMu sync.Mutex
	secret   []byte // the namespace's claim key, read once for the holder's claims
}

var holders = struct {
	sync.Mutex
	m   map[sharedKey]*claimHolder
	seq int
}{m: map[sharedKey]*claimHolder{}}

// ownHolder tells whether a claim-holder identity is one of this process's.
func ownHolder(identity string) bool { return strings.HasPrefix(identity, processID+"#") }

// holdClaims returns this process's claim-holder Lease in ns, making it and starting its
// renewal when no claim of the process there holds it yet, and the function that gives it
// back once the caller's claim no longer needs it (the last one deletes the Lease).
func (e *Executor) holdClaims(ctx context.Context, ns string) (*claimHolder, func(), error) {
	key := sharedKey{client: e.Client, ns: ns}
	holders.Lock()
	h := holders.m[key]
	if h == nil {
		holders.seq++
		id := fmt.Sprintf("%s#%d", processID, holders.seq)
		h = &claimHolder{key: key, identity: id, name: "cd-claims-" + contract.ShortHash(id, 20), stop: make(chan struct{})}
		holders.m[key] = h
	}
	h.refs++
	holders.Unlock()

	var once sync.Once
	release := func() {
		once.Do(func() {
			holders.Lock()
			h.refs--
			last := h.refs == 0
			if last && holders.m[key] == h {
				delete(holders.m, key) // a later claim makes a new holder, under a new name
			}
			holders.Unlock()
			if last {
				h.close(e)
			}
		})
	}
	h.mu.Lock()
	if !h.made && h.err == nil {
		h.err = h.make(ctx, e)
		if h.err == nil {
			h.made = true
			h.renew(e)
		}
	}
	err := h.err
	h.mu.Unlock()
	if err != nil {
		release()
		return nil, nil, err
	}
	return h, release, nil
}

func (h *claimHolder) lease() *coordinationv1.Lease {
	now := metav1.NewMicroTime(time.Now())
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: h.name, Namespace: h.key.ns,
			Labels: map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleClaimHolder},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(h.identity),
			LeaseDurationSeconds: ptr.To(int32(ClaimDuration.Seconds())),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
}

func (h *claimHolder) make(ctx context.Context, e *Executor) error {
	made, err := e.Client.CoordinationV1().Leases(h.key.ns).Create(ctx, h.lease(), metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			return fmt.Errorf("%w: %w", ErrClaimsUnavailable, err)
		}
		return fmt.Errorf("create the claim-holder lease %s/%s: %w", h.key.ns, h.name, err)
	}
	h.last = made
	return nil
}

// renew updates the Lease every claimRenew (one request, from the copy last written; a
// conflict or a Lease gone, which nobody else should cause, is repaired on the next tick).
func (h *claimHolder) renew(e *Executor) {
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		leases := e.Client.CoordinationV1().Leases(h.key.ns)
		t := time.NewTicker(claimRenew)
		defer t.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), claimRenew)
			h.mu.Lock()
			l := h.last.DeepCopy()
			now := metav1.NewMicroTime(time.Now())
			l.Spec.RenewTime = &now
			updated, err := leases.Update(ctx, l, metav1.UpdateOptions{})
			switch {
			case err == nil:
				h.last = updated
			case apierrors.IsConflict(err):
				if cur, gerr := leases.Get(ctx, h.name, metav1.GetOptions{}); gerr == nil {
					h.last = cur
				}
			case apierrors.IsNotFound(err):
				if made, cerr := leases.Create(ctx, h.lease(), metav1.CreateOptions{}); cerr == nil {
					h.last = made
				}
			}
			h.mu.Unlock()
			cancel()
		}
	}()
}

// claimKey is the namespace's claim key (claimSecret), read once for all the claims of the
// holder: while the process holds claims in the namespace, the key is one read, not one per
// create. A key replaced meanwhile (its Secret deleted by hand) would be so for these
// claims' retries anyway.
func (h *claimHolder) claimKey(ctx context.Context, e *Executor) ([]byte, error) {
	h.secretMu.Lock()
	defer h.secretMu.Unlock()
	if h.secret != nil {
		return h.secret, nil
	}
	k, err := e.claimSecret(ctx, h.key.ns)
	if err != nil {
		return nil, err
	}
	h.secret = k
	return k, nil
}

// close stops the renewal and deletes the Lease: no claim of this process refers to it
// any more (released, returned or abandoned).
func (h *claimHolder) close(e *Executor) {
	h.mu.Lock()
	made := h.made
	h.mu.Unlock()
	if !made {
		return
	}
	close(h.stop)
	h.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), claimRenew)
	defer cancel()
	_ = e.Client.CoordinationV1().Leases(h.key.ns).Delete(ctx, h.name, metav1.DeleteOptions{})
}
