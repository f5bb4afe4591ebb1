// Package apiretry retries Kubernetes API calls that may succeed when tried again, for
// the sidecars, which run while the cluster may be busy or briefly unreachable.
package apiretry

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// The pauses the sidecars retry with: a quarter of a second at first, doubling up to two
// seconds, so that a few retries fit in a pod's termination grace period.
const (
	FirstPause = 250 * time.Millisecond
	MaxPause   = 2 * time.Second
)

// Do calls f until it succeeds, fails permanently (see Transient) or ctx ends, pausing
// first between the first two calls and doubling the pause up to maxPause. logf, when not
// nil, hears about every failed attempt that is retried.
func Do(ctx context.Context, first, maxPause time.Duration, logf func(attempt int, err error), f func(context.Context) error) error {
	pause := first
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil || !Transient(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if logf != nil {
			logf(attempt, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
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
