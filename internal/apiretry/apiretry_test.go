package apiretry

import (
	"context"
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestDo(t *testing.T) {
	gr := schema.GroupResource{Resource: "secrets"}
	calls := 0
	err := Do(context.Background(), time.Millisecond, 4*time.Millisecond, nil, func(context.Context) error {
		calls++
		if calls < 3 {
			return apierrors.NewServiceUnavailable("busy")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("transient errors: %v after %d calls", err, calls)
	}
	calls = 0
	forbidden := apierrors.NewForbidden(gr, "x", errors.New("no"))
	if err := Do(context.Background(), time.Millisecond, time.Millisecond, nil, func(context.Context) error { calls++; return forbidden }); !apierrors.IsForbidden(err) || calls != 1 {
		t.Fatalf("a permanent error is retried: %v after %d calls", err, calls)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	var logged int
	err = Do(ctx, time.Millisecond, 2*time.Millisecond, func(int, error) { logged++ }, func(context.Context) error { return errors.New("connection refused") })
	if err == nil || logged == 0 || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("deadline: %v, %d logged", err, logged)
	}
}

// An error marked Permanent is returned at once, whatever it wraps, and still unwraps.
func TestDo_Permanent(t *testing.T) {
	bad := errors.New("checksum does not match")
	calls := 0
	err := Do(context.Background(), time.Millisecond, time.Millisecond, nil, func(context.Context) error { calls++; return Permanent(bad) })
	if calls != 1 || !errors.Is(err, bad) || err.Error() != bad.Error() {
		t.Fatalf("got %v after %d calls, want %v after 1", err, calls, bad)
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

// The attempts are counted in the error once the context ends, which wraps the last
// attempt's error; the attempt that saw the context end is not reported as retried.
func TestDo_GaveUpAfterAttempts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := 0
	var logged []int
	last := apierrors.NewTooManyRequests("slow down", 1)
	err := Do(ctx, time.Millisecond, time.Millisecond, func(attempt int, _ error) { logged = append(logged, attempt) }, func(context.Context) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return last
	})
	if err == nil || err.Error() != "gave up after 3 attempts: slow down" || !errors.Is(err, last) {
		t.Fatalf("got %v after %d calls, want gave up after 3 attempts wrapping %v", err, calls, last)
	}
	if len(logged) != 2 || logged[0] != 1 || logged[1] != 2 {
		t.Errorf("retried attempts logged: %v, want [1 2]", logged)
	}
}

// The pauses double from the first up to the cap, each lengthened by up to a tenth at
// random; the schedule never runs out.
func TestBackoff(t *testing.T) {
	first, maxPause := 100*time.Millisecond, 700*time.Millisecond
	base := []time.Duration{100, 200, 400, 700, 700, 700, 700, 700, 700, 700}
	jittered := false
	for range 50 {
		next := Backoff(first, maxPause).DelayFunc()
		for i, b := range base {
			b *= time.Millisecond
			d := next()
			if d < b || d > b+b/10 {
				t.Fatalf("pause %d = %v, want between %v and %v", i+1, d, b, b+b/10)
			}
			jittered = jittered || d != b
		}
	}
	if !jittered {
		t.Error("no pause was jittered")
	}
}
