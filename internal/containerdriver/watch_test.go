package containerdriver

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPullFailurePermanent(t *testing.T) {
	for msg, want := range map[string]bool{
		`failed to pull and unpack image "registry.example/x:1": failed to resolve reference: registry.example/x:1: not found`: true,
		`failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized`:                            true,
		`pull access denied, repository does not exist or may require authorization`:                                           true,
		`dial tcp: lookup containerdriver.local: no such host`:                                                                 true,
		`unexpected status code 429 Too Many Requests`:                                                                         false,
		`failed to copy: httpReadSeeker: failed open: unexpected status code 503 Service Unavailable`:                          false,
		`dial tcp 10.0.0.1:443: i/o timeout`:                                                                                   false,
	} {
		if got := pullFailurePermanent(msg); got != want {
			t.Errorf("pullFailurePermanent(%q) = %v, want %v", msg, got, want)
		}
	}
}

// A transient pull failure (a registry's 429) is waited out PullRetries times; one that
// cannot recover fails at once (issue 9, defect 7).
func TestPodWatch_PullRetries(t *testing.T) {
	pod := func(reason, msg string) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "runner", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
		}}}}
	}
	newWatch := func() *podWatch {
		return &podWatch{e: &Executor{PullRetries: 2}, spec: &RunSpec{}, red: &redactor{}, streaming: map[string]bool{},
			logs: &sync.WaitGroup{}, lastState: map[string]string{}, pulls: map[string]int{}, pullSeen: map[string]string{}}
	}
	ctx := context.Background()
	w := newWatch()
	steps := []struct {
		reason, msg string
		over        bool
	}{
		{"ErrImagePull", "429 Too Many Requests (1)", false},
		{"ImagePullBackOff", "Back-off pulling image", false},
		{"ErrImagePull", "429 Too Many Requests (2)", false},
		{"ImagePullBackOff", "Back-off pulling image", false},
		{"ErrImagePull", "429 Too Many Requests (3)", true},
	}
	for i, s := range steps {
		if over := w.observe(ctx, pod(s.reason, s.msg), false); over != s.over {
			t.Fatalf("step %d (%s): over = %v, want %v", i, s.msg, over, s.over)
		}
	}
	if w.fast == nil || w.fast.Reason != "ErrImagePull" {
		t.Errorf("fast = %+v", w.fast)
	}
	w = newWatch()
	if !w.observe(ctx, pod("ErrImagePull", "registry.example/x:1: not found"), false) {
		t.Error("a missing image did not fail at once")
	}
	w.stopTimers()
}
