package containerdriver

import (
	"fmt"
	"sync"
	"testing"
)

// The ring keeps the last max lines in order, answers for fewer, and a nil ring (a run
// that streams nothing) is empty rather than a panic.
func TestLogRing(t *testing.T) {
	r := newLogRing(3)
	if got := r.last(5); got != "" {
		t.Errorf("empty ring: %q", got)
	}
	for i := 1; i <= 5; i++ {
		r.add(fmt.Sprintf("line %d", i))
	}
	if got, want := r.last(10), "line 3\nline 4\nline 5\n"; got != want {
		t.Errorf("last(10) = %q, want %q", got, want)
	}
	if got, want := r.last(2), "line 4\nline 5\n"; got != want {
		t.Errorf("last(2) = %q, want %q", got, want)
	}
	var none *logRing
	none.add("x")
	if got := none.last(1); got != "" {
		t.Errorf("nil ring: %q", got)
	}
	// Added to while read, as the log stream and a failure report do.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() { defer wg.Done(); r.add("more") }()
		go func() { defer wg.Done(); _ = r.last(3) }()
	}
	wg.Wait()
	if got, want := r.last(10), "more\nmore\nmore\n"; got != want {
		t.Errorf("after concurrent adds: %q, want %q", got, want)
	}
}
