package containerdriver

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A create's run identity must survive the caller's crash: the runner keys what it makes
// by CONTAINERDRIVER_RUN_ID, so a retried create that picked a new id would make a second
// copy and orphan the first. Terraform gives a provider no resource address to derive the
// id from, so a create claims its id in a Lease of the run's namespace, labelled with a
// digest of everything that makes the run (its secret values included), and renews it
// while the create is in flight.
//
// The digest is an HMAC-SHA256 under a key kept in the Secret ClaimKeySecret of the same
// namespace (made once, at random, by the first create there): two resources that differ
// only in a secret never share a claim, and those who may read Leases but not Secrets
// cannot test guesses of a secret against the label.
//
// A later create with the same digest adopts the id of a claim whose holder is dead, and
// so re-attaches to the Job that holder started; it never adopts the claim of a holder
// that is alive (two identical resources in one apply stay two runs). A claim is held by
// its process's claim-holder Lease (claimholder.go), which the process renews for all its
// claims in the namespace. Whether a holder is alive is observed, never computed from
// timestamps: a holder Lease whose resourceVersion does not change during ClaimDuration of
// this process's monotonic clock was not renewed.
//
// When the create returns, its claim is marked returned instead of deleted: Terraform
// persists the state only after the provider has answered, and a caller killed in between
// loses the run. The provider records the pending claim in the resource's private state,
// and the first operation that reads that state back (a plan, refresh, update or destroy
// of the resource) deletes the claim (ConfirmRecorded): from then on the state has the run.
// A returned claim still there when a create with the same digest starts belongs to a run
// whose state was lost (a plan of every recorded resource comes before any create of an
// apply), so that create adopts it.
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
	// AnnotationReturned marks a claim whose create returned to Terraform: it is no longer
	// renewed, and stays until an operation sees the run in the state (ConfirmRecorded).
	AnnotationReturned = "containerdriver.io/create-returned"

	// ClaimKeySecret is the Secret holding the key of the claims' digests in a namespace.
	ClaimKeySecret = "containerdriver-claim-key"
	// RoleClaimKey is the role label of ClaimKeySecret.
	RoleClaimKey  = "create-claim-key"
	claimKeyField = "key"
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
	// last is the claim as this create last wrote it, so that Returned and Abandon need no
	// read.
	last *coordinationv1.Lease
	// unhold gives the process's claim-holder Lease back once the claim no longer needs it.
	unhold func()
	once   sync.Once
}

// ClaimCreate returns the run id a create of spec must use (spec.RunID is ignored): the
// id of an identical create whose caller died, or a new one from newID. Once the create
// returns, the claim must be released (Release) when nothing of the run is recorded, or
// marked returned (Returned) when the run goes into the state. When Leases or the claim
// key may not be used it returns an error wrapping ErrClaimsUnavailable.
func (e *Executor) ClaimCreate(ctx context.Context, spec *RunSpec, newID func() string) (*CreateClaim, error) {
	ns := spec.Namespace()
	// The namespace's Lease informer (claimwatch.go) starts listing while the holder Lease
	// is made and the claim key read.
	w, unwatch := e.holdClaimWatch(ns)
	h, unhold, err := e.holdClaims(ctx, ns)
	if err != nil {
		unwatch()
		return nil, err
	}
	claim, err := e.claimCreate(ctx, spec, newID, h, w)
	if err != nil {
		unhold()
		unwatch()
		return nil, err
	}
	claim.unhold = func() { unhold(); unwatch() }
	return claim, nil
}

func (e *Executor) claimCreate(ctx context.Context, spec *RunSpec, newID func() string, h *claimHolder, w *claimWatch) (*CreateClaim, error) {
	ns := spec.Namespace()
	secret, err := h.claimKey(ctx, e)
	if err != nil {
		return nil, err
	}
	key, err := createKey(secret, spec)
	if err != nil {
		return nil, err
	}
	leases := e.Client.CoordinationV1().Leases(ns)
	// The claims and the claim-holder Leases they refer to: from the namespace's Lease
	// informer when it shows no claim with this digest (nothing to adopt: the claim is made
	// without a read), else from one list of the API, from which any adoption is decided
	// (claimwatch.go says why the cache never decides one).
	items, cached := w.leases(ctx)
	for i := 0; cached && i < len(items); i++ {
		if items[i].Labels[contract.LabelRole] == RoleCreateClaim && items[i].Labels[LabelCreateKey] == key {
			cached = false
		}
	}
	if !cached {
		list, err := leases.List(ctx, metav1.ListOptions{LabelSelector: claimSelector})
		if apierrors.IsForbidden(err) || apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%w: %w", ErrClaimsUnavailable, err)
		}
		if err != nil {
			return nil, fmt.Errorf("list the create claims in namespace %s: %w", ns, err)
		}
		items = list.Items
	}
	claim := &CreateClaim{client: e, namespace: ns}
	byName := map[string]*coordinationv1.Lease{}
	referred := map[string]bool{}
	for i := range items {
		l := &items[i]
		byName[l.Name] = l
		if l.Labels[contract.LabelRole] == RoleCreateClaim {
			referred[l.Annotations[AnnotationClaimHolder]] = true
		}
	}
	var same []coordinationv1.Lease
	for _, l := range items {
		if l.Labels[contract.LabelRole] == RoleClaimHolder {
			e.dropStaleHolder(ctx, &l, referred[l.Name])
			continue
		}
		if l.Labels[LabelCreateKey] == key {
			same = append(same, l)
			continue
		}
		// Only a hint, so a timestamp may do: which claim is adopted never depends on one. A
		// returned claim is not reported: its run is most likely in a state whose resources
		// were not planned since (another workspace), and a warning would cry wolf.
		if holderOf(&l) != processID && l.Annotations[AnnotationReturned] == "" && claimLastSeen(&l, byName).Before(time.Now().Add(-orphanAge)) {
			claim.Orphans = append(claim.Orphans, orphanNote(&l, claimLastSeen(&l, byName)))
		}
	}
	sort.Slice(same, func(i, j int) bool { return same[i].CreationTimestamp.Before(&same[j].CreationTimestamp) })
	for i := range same {
		l := &same[i]
		if holderOf(l) == processID || l.Annotations[AnnotationRunID] == "" {
			continue // a create of this very process: another resource with the same configuration
		}
		returned := l.Annotations[AnnotationReturned] != ""
		if !returned && !e.holderDead(ctx, l, byName) {
			continue
		}
		now := metav1.NewMicroTime(time.Now())
		l.Spec.HolderIdentity = ptr.To(processID)
		l.Spec.RenewTime = &now
		l.Spec.AcquireTime = &now
		l.Spec.LeaseTransitions = ptr.To(ptr.Deref(l.Spec.LeaseTransitions, 0) + 1)
		delete(l.Annotations, AnnotationReturned)
		l.Annotations[AnnotationClaimHolder] = h.name
		// The update carries the resourceVersion observed: of two creates adopting the same
		// claim, the API server lets one win.
		updated, err := leases.Update(ctx, l, metav1.UpdateOptions{})
		if err != nil {
			continue
		}
		claim.RunID, claim.Adopted, claim.name, claim.last = l.Annotations[AnnotationRunID], true, l.Name, updated
		if returned {
			e.event("adopted run %s: a create with the same configuration returned, but no state records it (claim %s/%s)", claim.RunID, ns, l.Name)
		} else {
			e.event("adopted run %s: a create with the same configuration was interrupted (its claim %s/%s was no longer renewed)", claim.RunID, ns, l.Name)
		}
		return claim, nil
	}
	claim.RunID = newID()
	now := metav1.NewMicroTime(time.Now())
	lease := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Name: ClaimName(claim.RunID), Namespace: ns,
			Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleCreateClaim,
				LabelCreateKey: key, contract.LabelRunID: runLabel(claim.RunID),
			},
			Annotations: map[string]string{AnnotationRunID: claim.RunID, AnnotationClaimHolder: h.name},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       ptr.To(processID),
			LeaseDurationSeconds: ptr.To(int32(ClaimDuration.Seconds())),
			AcquireTime:          &now,
			RenewTime:            &now,
		},
	}
	made, err := leases.Create(ctx, lease, metav1.CreateOptions{})
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("%w: %w", ErrClaimsUnavailable, err)
		}
		return nil, fmt.Errorf("create the claim of run %s in namespace %s: %w", claim.RunID, ns, err)
	}
	claim.name, claim.last = lease.Name, made
	return claim, nil
}

// RunLabel is the value of the contract.LabelRunID label on the objects of run runID.
func RunLabel(runID string) string { return runLabel(runID) }

// ClaimName is the name of the Lease that claims runID.
func ClaimName(runID string) string { return "cd-create-" + contract.ShortHash(runID, 20) }

func orphanNote(l *coordinationv1.Lease, lastSeen time.Time) string {
	id := l.Annotations[AnnotationRunID]
	return fmt.Sprintf(
		"a create of run %s (claim %s/%s, last seen %s) was interrupted and neither completed nor retried with the same configuration: "+
			"its runner may have made something no Terraform state records. Its Jobs carry the label %s=%s. "+
			"Destroy what it made (or re-apply that configuration to adopt it), then delete the Lease.",
		id, l.Namespace, l.Name, lastSeen.UTC().Format(time.RFC3339), contract.LabelRunID, runLabel(id))
}

// CreateKey is the claim digest of spec: an HMAC-SHA256, under the namespace's claim key,
// of everything that makes the run but its id (secret and write-only values included).
func (e *Executor) CreateKey(ctx context.Context, spec *RunSpec) (string, error) {
	secret, err := e.claimSecret(ctx, spec.Namespace())
	if err != nil {
		return "", err
	}
	return createKey(secret, spec)
}

func createKey(secret []byte, spec *RunSpec) (string, error) {
	cp := *spec
	cp.RunID = ""
	cp.Adopted = false
	b, err := json.Marshal(struct {
		Spec   *RunSpec
		Action string
	}{&cp, "create-claim"})
	if err != nil {
		return "", fmt.Errorf("digest run spec: %w", err)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))[:40], nil
}

// claimSecret reads the namespace's claim key, making it (create-or-get, so that of two
// creators racing, both end up with the one the API server kept) when there is none.
func (e *Executor) claimSecret(ctx context.Context, ns string) ([]byte, error) {
	secrets := e.Client.CoreV1().Secrets(ns)
	unavailable := func(err error) error {
		if apierrors.IsForbidden(err) {
			return fmt.Errorf("%w: read or create secret %s/%s: %w", ErrClaimsUnavailable, ns, ClaimKeySecret, err)
		}
		return fmt.Errorf("read or create the claim key %s/%s: %w", ns, ClaimKeySecret, err)
	}
	valid := func(s *corev1.Secret) ([]byte, error) {
		k := s.Data[claimKeyField]
		if len(k) < 32 {
			return nil, fmt.Errorf("secret %s/%s holds no claim key (%q of at least 32 bytes): delete it, and the next create makes a new one", ns, ClaimKeySecret, claimKeyField)
		}
		return k, nil
	}
	got, err := secrets.Get(ctx, ClaimKeySecret, metav1.GetOptions{})
	if err == nil {
		return valid(got)
	}
	if !apierrors.IsNotFound(err) {
		return nil, unavailable(err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("make a claim key: %w", err)
	}
	made, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ClaimKeySecret, Namespace: ns, Labels: map[string]string{contract.LabelRole: RoleClaimKey}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{claimKeyField: k},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		if got, err = secrets.Get(ctx, ClaimKeySecret, metav1.GetOptions{}); err != nil {
			return nil, unavailable(err)
		}
		return valid(got)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return valid(made)
}

func holderOf(l *coordinationv1.Lease) string { return ptr.Deref(l.Spec.HolderIdentity, "") }

func lastRenewal(l *coordinationv1.Lease) time.Time {
	if l.Spec.RenewTime != nil {
		return l.Spec.RenewTime.Time
	}
	return l.CreationTimestamp.Time
}

// claimLastSeen is when the holder of claim l was last seen alive, from timestamps (a hint
// for the report of interrupted creates, never for adoption): its holder Lease's last
// renewal, or the claim's own for a claim that names none or whose holder Lease is gone.
func claimLastSeen(l *coordinationv1.Lease, byName map[string]*coordinationv1.Lease) time.Time {
	if h := byName[l.Annotations[AnnotationClaimHolder]]; h != nil && h.Labels[contract.LabelRole] == RoleClaimHolder {
		return lastRenewal(h)
	}
	return lastRenewal(l)
}

// dropStaleHolder deletes the claim-holder Lease of a process that died (it was not
// renewed for orphanAge, and no claim refers to it any more), so that crashed processes
// leave no Lease behind for ever. Only tidying: a live holder deleted by a clock far off
// makes itself again on its next renewal, and a claim is taken for dead only after its
// holder is seen unchanged for ClaimDuration.
func (e *Executor) dropStaleHolder(ctx context.Context, l *coordinationv1.Lease, referred bool) {
	if referred || ownHolder(holderOf(l)) || !lastRenewal(l).Before(time.Now().Add(-orphanAge)) {
		return
	}
	_ = e.Client.CoordinationV1().Leases(l.Namespace).Delete(ctx, l.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{ResourceVersion: ptr.To(l.ResourceVersion)}})
}

// holderDead tells whether the claim's holder stopped renewing it: the claim's holder Lease
// (or, for a claim that names none, the claim itself) is watched for one claim duration
// (plus a margin) of this process's monotonic clock, and a holder that renews every
// claimRenew changes its resourceVersion in that time. No timestamp written by another
// machine is compared with this one's clock. byName holds the Leases as listed.
func (e *Executor) holderDead(ctx context.Context, l *coordinationv1.Lease, byName map[string]*coordinationv1.Lease) bool {
	leases := e.Client.CoordinationV1().Leases(l.Namespace)
	watched, first := l.Name, l.ResourceVersion
	// observe returns the watched object's state; ok is false when the answer is that the
	// claim is not ours to take.
	observe := func() (string, bool) {
		cur, err := leases.Get(ctx, watched, metav1.GetOptions{})
		if err != nil {
			return "", false // released (its create completed) or unreadable
		}
		return cur.ResourceVersion, true
	}
	if ref := l.Annotations[AnnotationClaimHolder]; ref != "" {
		watched, first = ref, "absent"
		if h := byName[ref]; h != nil {
			first = h.ResourceVersion
		}
		observe = func() (string, bool) {
			cur, err := leases.Get(ctx, watched, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				// Gone: its process ended without this claim (a graceful process deletes
				// it only when none of its claims is in flight) or died and it was tidied.
				return "absent", true
			case err != nil:
				return "", false
			}
			return cur.ResourceVersion, true
		}
	}
	e.event("waiting up to %s to see whether the create holding claim %s/%s is still alive", ClaimDuration, l.Namespace, l.Name)
	start := time.Now() // carries the monotonic reading that time.Since uses
	for time.Since(start) < ClaimDuration+2*time.Second {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(e.claimPoll()):
		}
		cur, ok := observe()
		if !ok {
			return false
		}
		if cur != first && cur != "absent" {
			return false // renewed (or made again): alive
		}
		// Gone since the list (another create saw it dead and deleted it) is no sign of life.
	}
	if watched != l.Name && first != "absent" {
		// A dead process's holder Lease goes once seen dead (its other claims, if any, see it
		// gone and are judged the same way); the precondition spares one renewed meanwhile.
		_ = leases.Delete(ctx, watched, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: ptr.To(first)}})
	}
	return true
}

func (e *Executor) claimPoll() time.Duration { return time.Second }

// Release deletes the claim: nothing of the run is recorded and nothing ran, so nobody
// must adopt its id.
func (c *CreateClaim) Release(ctx context.Context) {
	if c == nil {
		return
	}
	c.once.Do(func() {
		_ = c.client.Client.CoordinationV1().Leases(c.namespace).Delete(context.WithoutCancel(ctx), c.name, metav1.DeleteOptions{})
		c.unhold()
	})
}

// Abandon leaves the claim to the interrupted create it was adopted from, for a create
// that refused to run under the adopted id (see checkAdopted): the claim no longer names
// this process's holder Lease, so it is no longer renewed, as when its first holder died.
func (c *CreateClaim) Abandon() {
	if c == nil {
		return
	}
	c.once.Do(func() {
		l := c.last.DeepCopy()
		delete(l.Annotations, AnnotationClaimHolder)
		ctx, cancel := context.WithTimeout(context.Background(), claimRenew)
		defer cancel()
		_, _ = c.client.Client.CoordinationV1().Leases(c.namespace).Update(ctx, l, metav1.UpdateOptions{})
		c.unhold()
	})
}

// Returned marks the claim returned: the run goes into the state Terraform is about to
// persist. The claim stays until ConfirmRecorded, so that a create retried after Terraform
// died before persisting still finds the run's id. It returns an error when the mark could
// not be made: the claim then looks like a dead create's once the process's holder Lease
// is no longer renewed, which a retry adopts just the same.
func (c *CreateClaim) Returned(ctx context.Context) error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		// An update of the claim as last written (the verbs a create needs anyway, and no
		// read): a conflict means another create adopted it, which makes it its claim.
		leases := c.client.Client.CoordinationV1().Leases(c.namespace)
		l := c.last.DeepCopy()
		if l.Annotations == nil {
			l.Annotations = map[string]string{}
		}
		l.Annotations[AnnotationReturned] = "true"
		_, err = leases.Update(context.WithoutCancel(ctx), l, metav1.UpdateOptions{})
		c.unhold()
	})
	return err
}

// ConfirmRecorded deletes the claim of runID, if any: the caller read the run back from
// Terraform's state, so its state was persisted and no create may adopt its id any more.
func (e *Executor) ConfirmRecorded(ctx context.Context, ns, runID string) error {
	err := e.Client.CoordinationV1().Leases(ns).Delete(ctx, ClaimName(runID), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the create claim %s/%s of run %s: %w", ns, ClaimName(runID), runID, err)
	}
	return nil
}
