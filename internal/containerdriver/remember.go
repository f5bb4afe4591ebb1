package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"k8s.io/client-go/kubernetes"
)

// Questions asked once per service account, not once per run (issue 21).
//
// Every new Job used to cost the same requests about its service account: a read of the
// service account (preflight) and one LocalSubjectAccessReview per right pre-checks would
// check (permissions.go). Fifty runs at once with one service account asked the same
// questions fifty times. Now the runs of one client (one provider configuration: one
// cluster and one set of credentials, as for the shared watches) share the answers:
//
//   - Runs asking the same question at the same time share one request (singleflight).
//   - Only the answers that let a run go faster are remembered: "the service account
//     exists" and "every right of this rule set is allowed". A denial, a NotFound, a
//     Forbidden or an error is never remembered: the next run asks again and fails exactly
//     as before, with the same message.
//   - An answer is remembered for rememberedAnswerLife, counted from when it came.
//   - A run whose pod fails in a way that can mean missing rights or a missing service
//     account (forgetsAnswers) drops every answer about its service account at once.
//
// The cost: rights withdrawn, or a service account deleted, less than rememberedAnswerLife
// after a run found them are not seen by preflight or by the provider's check. The pod
// then tells: the Job cannot create a pod without its service account (FailedCreate, which
// the executor turns back into the ServiceAccountNotFound failure preflight gives), and a
// sidecar refused a request fails the run naming the right; both drop the answers.

// rememberedAnswerLife is how long an "allowed" or "exists" answer about a service account
// is used by later runs of the same client. 30 s covers the runs of one apply that start
// together or follow each other (Terraform starts up to -parallelism of them at once; the
// shared watches linger as long); a provider process lives for one Terraform command, so
// nothing is remembered from one apply to the next anyway. The API server itself keeps a webhook authorizer's "allowed" ten
// times as long by default (--authorization-webhook-cache-authorized-ttl, 5 minutes).
var rememberedAnswerLife = 30 * time.Second

// answerLife is how long the answers e is given are remembered.
func (e *Executor) answerLife() time.Duration {
	if e.rememberFor > 0 {
		return e.rememberFor
	}
	return rememberedAnswerLife
}

// joining is called as a question is about to be asked or joined; tests count them.
var joining = func() {}

// clock is time.Now; tests move it.
var clock = time.Now

// askTimeout bounds a shared question: it outlives the run that asked it first (the others
// still wait for its answer), but not forever.
const askTimeout = time.Minute

// accountKey names a service account as one client sees it.
type accountKey struct {
	client kubernetes.Interface
	ns, sa string
}

// accountAnswers are the answers remembered about one service account. A new value is
// made after every forget, so an answer a question asked before the forget brings back
// lands in the old value and is lost.
type accountAnswers struct {
	id uint64
	// until holds, per question, when its "yes" stops being used.
	until map[string]time.Time
}

var remembered = struct {
	sync.Mutex
	m       map[accountKey]*accountAnswers
	next    uint64
	flights singleflight.Group
}{m: map[accountKey]*accountAnswers{}}

// Questions about a service account.
const (
	askExists = "exists"
	// askAllowed is followed by the rule set (rulesKey).
	askAllowed = "allowed "
)

// answersOf returns the answers remembered about k, making an empty value when there is
// none; expired values of other service accounts are dropped meanwhile. Callers hold
// remembered's lock.
func answersOf(k accountKey, now time.Time) *accountAnswers {
	if a := remembered.m[k]; a != nil {
		return a
	}
	for ok, a := range remembered.m {
		if a.expired(now) {
			delete(remembered.m, ok)
		}
	}
	remembered.next++
	a := &accountAnswers{id: remembered.next, until: map[string]time.Time{}}
	remembered.m[k] = a
	return a
}

func (a *accountAnswers) expired(now time.Time) bool {
	for _, u := range a.until {
		if now.Before(u) {
			return false
		}
	}
	return true
}

// ask answers question q about k: from memory when a "yes" is remembered (hit is true),
// else by fn, whose request is shared with the runs asking the same question at the same
// time. fn reports whether its answer may be remembered (a definite "yes") and the error
// to hand every caller. fn runs beyond the asking run's ctx (bounded by askTimeout), so a
// run that gives up does not fail the others; each caller still stops waiting when its own
// ctx ends.
func (e *Executor) ask(ctx context.Context, k accountKey, q string, fn func(context.Context) (yes bool, err error)) (yes, hit bool, err error) {
	remembered.Lock()
	now := clock()
	a := answersOf(k, now)
	if now.Before(a.until[q]) {
		remembered.Unlock()
		return true, true, nil
	}
	// The flight is a's: after a forget, a new question does not join one asked before.
	flight := fmt.Sprintf("%d %s", a.id, q)
	remembered.Unlock()
	joining()
	ch := remembered.flights.DoChan(flight, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), askTimeout)
		defer cancel()
		yes, err := fn(fctx)
		if yes && err == nil {
			remembered.Lock()
			// Counted from the answer, not the question: a slow answer is as fresh as its
			// arrival.
			a.until[q] = clock().Add(e.answerLife())
			remembered.Unlock()
		}
		return yes, err
	})
	select {
	case r := <-ch:
		y, _ := r.Val.(bool)
		return y, false, r.Err
	case <-ctx.Done():
		return false, false, ctx.Err()
	}
}

// forget drops every answer remembered about k: the next run asks again.
func forget(k accountKey) {
	remembered.Lock()
	defer remembered.Unlock()
	delete(remembered.m, k)
}

// afterFailure drops what is remembered about the service account of a run that failed
// once its Job existed, whatever the failure: a refused request (pre-checks, state-restore,
// outputs-fetcher), a pod the Job could not create, the runner's own error. Failures are
// rare enough that asking again after each costs little, and no failure is left to guess
// whether it meant missing rights. When the Job could not create its pod (FailedCreate),
// the service account is read again: one deleted since an earlier run found it fails as
// preflight would have failed it (ServiceAccountNotFound, naming it and the fix), with the
// Job's event after it.
func (e *Executor) afterFailure(ctx context.Context, spec *RunSpec, runErr error) error {
	ns, sa := spec.Namespace(), serviceAccountOf(spec)
	forget(accountKey{e.Client, ns, sa})
	var re *RunError
	if !errors.As(runErr, &re) || re.Reason != ReasonFailedCreate {
		return runErr
	}
	missing, err := e.missingTarget(ctx, ns, sa)
	f := missingTargetFailure(missing, ns, sa)
	if err != nil || f == nil {
		return runErr
	}
	f.Message += " (" + re.Message + ")"
	return newRunError(RunError{Namespace: re.Namespace, JobName: re.JobName, Action: re.Action}, f, re.Logs)
}
