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
