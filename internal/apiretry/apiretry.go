// Package apiretry retries Kubernetes API calls that may succeed when tried again, for
// the sidecars, which run while the cluster may be busy or briefly unreachable.
//
// The loop is apimachinery's (wait.Backoff: exponential, capped, jittered, ended by the
// context). client-go's retry.OnError is not used: it takes no context, so a pause could
// outlast the sidecar's budget, and it ends after a number of steps, where the sidecars
// retry until their context ends. What this package adds is which errors are worth a
// retry (Transient, Permanent) and the "gave up after N attempts" that names the last
// error once the context ends.
package apiretry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The pauses the sidecars retry with: a quarter of a second at first, doubling up to two
// seconds, so that a few retries fit in a pod's termination grace period.
const (
	FirstPause = 250 * time.Millisecond
	MaxPause   = 2 * time.Second
)

// Jitter is the share of a pause added at random (up to 10%), so that the sidecars of many
// runs refused by the same busy API server do not all come back at the same instant.
const Jitter = 0.1

// Backoff is the schedule of pauses Do keeps to: first, doubling up to maxPause, each
// lengthened by up to Jitter of itself; it never runs out of steps (the context ends Do).
func Backoff(first, maxPause time.Duration) wait.Backoff {
	return wait.Backoff{Duration: first, Factor: 2, Jitter: Jitter, Cap: maxPause, Steps: math.MaxInt32}
}

// Do calls f until it succeeds, fails permanently (see Transient) or ctx ends, pausing
// between calls as Backoff(first, maxPause) says. logf, when not nil, hears about every
// failed attempt that is retried. When ctx ends first, the error says after how many
// attempts it gave up and wraps the last attempt's error.
func Do(ctx context.Context, first, maxPause time.Duration, logf func(attempt int, err error), f func(context.Context) error) error {
	attempt := 0
	var last, permanent error
	err := Backoff(first, maxPause).DelayFunc().Until(ctx, true, true, func(ctx context.Context) (bool, error) {
		attempt++
		err := f(ctx)
		switch {
		case err == nil:
			return true, nil
		case !Transient(err):
			permanent = err
			return false, err
		}
		last = err
		if logf != nil && ctx.Err() == nil {
			logf(attempt, err)
		}
		return false, nil
	})
	switch {
	case err == nil, permanent != nil:
		return err
	case last == nil:
		// Not an attempt's error (the first attempt always runs, so this is not expected).
		return err
	}
	return fmt.Errorf("gave up after %d attempts: %w", attempt, last)
}

// Permanent marks err as one that trying again cannot cure although it did not come from
// the API server (data read back that is corrupt, say): Do returns it at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (p permanentError) Error() string { return p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Transient tells whether an API call may succeed if tried again: server-side overload and
// timeouts, and errors that never reached the API server (connection refused, reset, a
// request timeout). An error marked Permanent is not.
func Transient(err error) bool {
	var p permanentError
	switch {
	case errors.As(err, &p):
		return false
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return true
	}
	var status apierrors.APIStatus
	return !errors.As(err, &status)
}
