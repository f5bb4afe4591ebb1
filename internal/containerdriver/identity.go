package containerdriver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A create's run identity must survive the caller's crash: the runner keys what it makes
// by CONTAINERDRIVER_RUN_ID, so a retried create that picked a new id would make a second
// copy and orphan the first. Terraform gives a provider no resource address to derive the
// id from, so a create claims its id in a Lease of the run's namespace, labelled with a
// digest of its configuration, and renews it while the create is in flight. A later create
// with the same configuration adopts the id of a claim whose holder is dead (it stopped
// renewing), and so re-attaches to the Job that holder started; it never adopts the claim
// of a holder that is alive (two identical resources in one apply stay two runs). The
// claim is released when the create is recorded in Terraform's state.
const (
	// ClaimDuration is how long a claim stays valid without renewal.
	ClaimDuration = 15 * time.Second
	claimRenew    = 5 * time.Second
	// orphanAge is how long after its last renewal a claim nobody adopted is reported.
	orphanAge = 10 * time.Minute

	// LabelCreateKey holds the digest of the configuration a claim was made for.
	LabelCreateKey = "containerdriver.io/create-key"
	// RoleCreateClaim is the role label of create claims.
	RoleCreateClaim = "create-claim"
	// AnnotationRunID holds a claim's run id.
	AnnotationRunID = "containerdriver.io/run-id"
)

// processID identifies this process among the holders of create claims.
var processID = func() string {
	h, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", h, os.Getpid(), hex.EncodeToString(b))
}()

// ErrClaimsUnavailable is returned when the caller's identity may not use Leases in the
// namespace: creates then get a fresh id and no protection against a crash.
var ErrClaimsUnavailable = errors.New("create claims unavailable")

// CreateClaim is a create's run identity, held while the create is in flight.
type CreateClaim struct {
	// RunID is the id the create must use.
	RunID string
	// Adopted is true when RunID was taken over from a create whose caller died.
	Adopted bool
	// Orphans describes claims of earlier creates that nobody completed or adopted.
	Orphans []string

	client    *Executor
	namespace string
	name      string
	stop      chan struct{}
	done      sync.WaitGroup
	once      sync.Once
}

// ClaimCreate returns the run id a create of spec must use (spec.RunID is ignored): the
// id of an identical create whose caller died, or a new one from newID. The claim must be
// released (Release) once the create is recorded or abandoned. When Leases may not be used
// it returns an error wrapping ErrClaimsUnavailable.
func (e *Executor) ClaimCreate(ctx context.Context, spec *RunSpec, newID func() string) (*CreateClaim, error) {
	ns := spec.Namespace()
	cp := *spec
	cp.RunID = ""
	key, err := SpecHash(&cp, "create-claim")
	if err != nil {
		return nil, err
	}
	key = key[:40]
	leases := e.Client.CoordinationV1().Leases(ns)
	list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: labels.Set{
		contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleCreateClaim}.String()})
	if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %v", ErrClaimsUnavailable, err)
	}
	if err != nil {
		return nil, fmt.Errorf("list the create claims in namespace %s: %w", ns, err)
	}
	claim := &CreateClaim{client: e, namespace: ns, stop: make(chan struct{})}
	var same []coordinationv1.Lease
	for _, l := range list.Items {
		if l.Labels[LabelCreateKey] == key {
			same = append(same, l)
			continue
		}
		if holderOf(&l) != processID && lastRenewal(&l).Before(time.Now().Add(-orphanAge)) {
			claim.Orphans = append(claim.Orphans, fmt.Sprintf(
				"a create of run %s (claim %s/%s, last seen %s) was interrupted and neither completed nor retried with the same configuration: "+
					"its runner may have made something no Terraform state records. Its Jobs carry the label %s=%s. "+
					"Destroy what it made (or re-apply that configuration to adopt it), then delete the Lease.",
				l.Annotations[AnnotationRunID], ns, l.Name, lastRenewal(&l).UTC().Format(time.RFC3339), contract.LabelRunID, runLabel(l.Annotations[AnnotationRunID])))
		}
	}
	sort.Slice(same, func(i, j int) bool { return same[i].CreationTimestamp.Before(&same[j].CreationTimestamp) })
	for i := range same {
		l := &same[i]
		if holderOf(l) == processID || l.Annotations[AnnotationRunID] == "" {
			continue // a create of this very process: another resource with the same configuration
		}
		if !e.holderDead(ctx, l) {
			continue
		}
		now := metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity = ptr.To(processID)
		l.Spec.RenewTime = &now
		l.Spec.AcquireTime = &now
		l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
		if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			continue // another create adopted it first
		}
		claim.RunID, claim.Adopted, claim.name = l.Annotations[AnnotationRunID], true, l.Name
		e.event("adopted run %s: a create with the same configuration was interrupted (its claim %s/%s was no longer renewed)", claim.RunID, ns, l.Name)
		claim.renew()
		return claim, nil
	}
	claim.RunID = newID()
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: "cd-create-" + contract.ShortHash(claim.RunID, 20), Namespace: ns,
			Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleCreateClaim,
				LabelCreateKey: key, contract.LabelRunID: runLabel(claim.RunID),
			},
			Annotations: map[string]string{AnnotationRunID: claim.RunID},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(processID),
			LeaseDurationSeconds: ptr.To(int32(ClaimDuration.Seconds())),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
	if _, err := leases.Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("%w: %v", ErrClaimsUnavailable, err)
		}
		return nil, fmt.Errorf("create the claim of run %s in namespace %s: %w", claim.RunID, ns, err)
	}
	claim.name = lease.Name
	claim.renew()
	return claim, nil
}

func holderOf(l *coordinationv1.Lease) string { return ptr.Deref(l.Spec.HolderIdentity, "") }

func lastRenewal(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime != nil {
		return l.Spec.RenewTime.Time
	}
	return l.CreationTimestamp.Time
}

// holderDead tells whether the claim's holder stopped renewing it. A claim renewed long
// ago (by any clock) is dead at once; otherwise it is watched for one claim duration, which
// does not depend on the clocks of two machines agreeing.
func (e *Executor) holderDead(ctx context.Context, l *coordinationv1.Lease) bool {
	if time.Since(lastRenewal(l)) > 3*ClaimDuration {
		return true
	}
	e.event("waiting up to %s to see whether the create holding claim %s/%s is still alive", ClaimDuration, l.Namespace, l.Name)
	deadline := time.Now().Add(ClaimDuration + 2*time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Second):
		}
		cur, err := e.Client.CoordinationV1().Leases(l.Namespace).Get(ctx, l.Name, metav1.GetOptions{})
		if err != nil {
			return false // released (its create completed) or unreadable: not ours to take
		}
		if cur.ResourceVersion != l.ResourceVersion {
			return false // renewed: alive
		}
	}
	return true
}

// renew keeps the claim alive until Release.
func (c *CreateClaim) renew() {
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		leases := c.client.Client.CoordinationV1().Leases(c.namespace)
		t := time.NewTicker(claimRenew)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), claimRenew)
			l, err := leases.Get(ctx, c.name, metav1.GetOptions{})
			if err == nil && holderOf(l) == processID {
				now := metav1.NewMicroTime(time.Now())
				l.Spec.RenewTime = &now
				_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
			}
			cancel()
		}
	}()
}

// Release stops renewing the claim and deletes it: the create is recorded (or was refused
// before anything ran), so nobody must adopt its id.
func (c *CreateClaim) Release(ctx context.Context) {
	if c == nil {
		return
	}
	c.once.Do(func() {
		close(c.stop)
		c.done.Wait()
		_ = c.client.Client.CoordinationV1().Leases(c.namespace).Delete(context.WithoutCancel(ctx), c.name, metav1.DeleteOptions{})
	})
}
