package containerdriver

import (
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// eventWaiter is an Observer that says when an event containing want was reported.
type eventWaiter struct {
	want string
	once sync.Once
	seen chan string
	mu   sync.Mutex
	all  []string
}

func (o *eventWaiter) Event(m string) {
	o.mu.Lock()
	o.all = append(o.all, m)
	o.mu.Unlock()
	if strings.Contains(m, o.want) {
		o.once.Do(func() { o.seen <- m })
	}
}
func (o *eventWaiter) LogLine(string, string) {}

// A run whose unschedulable_grace is not set (0 in the spec, which is what the provider
// passes for an unset attribute) waits DefaultUnschedulableGrace, 5 minutes, for an
// unschedulable pod; a set grace is used as it is. (The behaviour of a short grace on
// the real cluster: TestAccExecutor_UnschedulableWaitsThenFails.)
func TestWatch_UnschedulableGraceDefault(t *testing.T) {
	if DefaultUnschedulableGrace != 5*time.Minute {
		t.Errorf("DefaultUnschedulableGrace = %v, the documented default is 5m", DefaultUnschedulableGrace)
	}
	for _, tc := range []struct {
		grace time.Duration
		want  string
	}{
		{0, "waiting up to 5m0s for the cluster to make room"},
		{90 * time.Second, "waiting up to 1m30s for the cluster to make room"},
	} {
		obs := &eventWaiter{want: "cannot be scheduled yet", seen: make(chan string, 1)}
		w := &podWatch{e: &Executor{Observer: obs}, spec: &RunSpec{UnschedulableGrace: tc.grace}, red: &redactor{}}
		pod := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}}}}
		pod.Name = "p"
		w.checkSchedulable(pod)
		w.stopTimers()
		select {
		case m := <-obs.seen:
			if !strings.Contains(m, tc.want) {
				t.Errorf("grace %v: event %q, want %q", tc.grace, m, tc.want)
			}
		default:
			t.Errorf("grace %v: the unschedulable pod was not reported; events:\n%s", tc.grace, strings.Join(obs.all, "\n"))
		}
	}
}
