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

// Transient tells whether an API call may succeed if tried again: server-side overload and
// timeouts, and errors that never reached the API server (connection refused, reset, a
// request timeout).
func Transient(err error) bool {
	switch {
	case apierrors.IsServerTimeout(err), apierrors.IsTimeout(err), apierrors.IsTooManyRequests(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err), apierrors.IsUnexpectedServerError(err):
		return true
	}
	var status apierrors.APIStatus
	return !errors.As(err, &status)
}
