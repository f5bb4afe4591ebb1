package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
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

// podAfterRunner is the Job's pod once its runner has ended with runnerExit, while the
// kubelet has not yet reported outputs-fetcher's end: phase Running, the sidecar running.
func podAfterRunner(job string, runnerExit int32) *corev1.Pod {
	p := finishedPod(job, corev1.PodRunning, runnerExit)
	p.Status.InitContainerStatuses = []corev1.ContainerStatus{{
		Name: contract.ContainerOutputsFetcher, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
	}}
	return p
}

// storeOutputs creates what outputs-fetcher stores for job, in its order: the Secrets,
// then the ConfigMap chunks, chunk 0 last.
func storeOutputs(t *testing.T, c *fake.Clientset, job string, h outputs.Harvest) {
	t.Helper()
	cms, secrets := outputs.Objects(outputs.Meta{Namespace: "ns", JobName: job, BaseName: contract.OutputsObjectName(job)}, h)
	ctx := context.Background()
	for _, s := range secrets {
		if _, err := c.CoreV1().Secrets("ns").Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := len(cms) - 1; i >= 0; i-- {
		if _, err := c.CoreV1().ConfigMaps("ns").Create(ctx, cms[i], metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// startRun runs spec's create in the background; the result arrives on the channel.
func startRun(t *testing.T, c *fake.Clientset, spec *RunSpec) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		res, err := (&Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
		if err == nil && res.Outputs["a"] != "1" {
			err = fmt.Errorf("outputs %v, want a = 1", res.Outputs)
		}
		done <- err
	}()
	return done
}

// outputsListed reports whether the harvest listed the Job's outputs ConfigMaps (the
// shared watch's own list selects by role only, not by Job).
func outputsListed(c *fake.Clientset, job string) bool {
	for _, a := range c.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok && a.GetResource().Resource == "configmaps" &&
			l.GetListRestrictions().Labels.String() == outputsSelector(job, false) {
			return true
		}
	}
	return false
}

// A create whose runner exited with 0 ends once chunk 0 of its outputs ConfigMap is there,
// before the kubelet reports outputs-fetcher's end and the pod's phase (issue 21), and
// reads the ConfigMaps from the shared watch. Without the ConfigMap it waits; a run whose
// Job is kept (keep_job), and one whose runner failed, wait for the pod to be over, as before.
func TestRun_EndsOnItsOutputs(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	name := built.Job.Name
	h := outputs.Harvest{Outputs: []byte(`{"a":"1"}`), SecretOutputs: []byte(`{"s":"2"}`)}

	t.Run("runner ended and outputs stored", func(t *testing.T) {
		c := fakeCluster(append(outputObjects(name, h), podAfterRunner(name, 0))...)
		if err := <-startRun(t, c, spec); err != nil {
			t.Fatalf("the run did not end on its outputs: %v", err)
		}
		if outputsListed(c, name) {
			t.Error("the harvest listed the outputs ConfigMaps the shared watch held")
		}
		// The pod still ran outputs-fetcher: cleanup deleted it, and the outputs by name.
		if left := namesIn(t, c); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
	})

	t.Run("runner ended, outputs not stored yet", func(t *testing.T) {
		c := fakeCluster(podAfterRunner(name, 0))
		done := startRun(t, c, spec)
		select {
		case err := <-done:
			t.Fatalf("the run ended before its outputs were stored: %v", err)
		case <-time.After(time.Second):
		}
		storeOutputs(t, c, name, h)
		if err := <-done; err != nil {
			t.Fatalf("the run did not end when its outputs arrived: %v", err)
		}
	})

	t.Run("kept Job", func(t *testing.T) {
		kept := minimalSpec()
		kept.KeepResources = true
		keptJob, _ := BuildJob(kept, contract.ActionCreate)
		c := fakeCluster(append(outputObjects(keptJob.Job.Name, h), podAfterRunner(keptJob.Job.Name, 0))...)
		done := startRun(t, c, kept)
		select {
		case err := <-done:
			t.Fatalf("a run with a kept Job ended before its pod: %v", err)
		case <-time.After(time.Second):
		}
		over := finishedPod(keptJob.Job.Name, corev1.PodSucceeded, 0)
		if _, err := c.CoreV1().Pods("ns").UpdateStatus(context.Background(), over, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("the kept run did not end with its pod: %v", err)
		}
	})

	t.Run("runner failed", func(t *testing.T) {
		c := fakeCluster(append(outputObjects(name, outputs.Harvest{ErrorText: "boom"}), podAfterRunner(name, 3))...)
		done := startRun(t, c, spec)
		select {
		case err := <-done:
			t.Fatalf("a failed run ended before its pod: %v", err)
		case <-time.After(time.Second):
		}
		over := finishedPod(name, corev1.PodFailed, 3)
		if _, err := c.CoreV1().Pods("ns").UpdateStatus(context.Background(), over, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		var re *RunError
		if err := <-done; !errors.As(err, &re) || re.ExitCode == nil || *re.ExitCode != 3 || re.ErrorFile != "boom" {
			t.Fatalf("want the runner's failure (exit code 3, its error file), got %v", err)
		}
		// Chunk 0 had arrived on the shared watch before the pod was over: the failed run's
		// harvest reads the ConfigMaps from there too.
		if outputsListed(c, name) {
			t.Error("the failed run's harvest listed the outputs ConfigMaps the shared watch held")
		}
	})

	// The kubelet reported the pod over (outputs-fetcher exited with 0, so chunk 0 is
	// written) before the outputs watch delivered chunk 0: the run waits for it on the watch
	// instead of listing (under load the two watches deliver in either order).
	t.Run("pod over before chunk 0 arrived", func(t *testing.T) {
		over := finishedPod(name, corev1.PodSucceeded, 0)
		over.Status.InitContainerStatuses = []corev1.ContainerStatus{{
			Name: contract.ContainerOutputsFetcher, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}},
		}}
		c := fakeCluster(over)
		done := startRun(t, c, spec)
		select {
		case err := <-done:
			t.Fatalf("the run ended before chunk 0 arrived: %v", err)
		case <-time.After(time.Second):
		}
		storeOutputs(t, c, name, h)
		if err := <-done; err != nil {
			t.Fatalf("the run did not end when its outputs arrived: %v", err)
		}
		if outputsListed(c, name) {
			t.Error("the harvest listed the outputs ConfigMaps instead of waiting for chunk 0 on the shared watch")
		}
	})
}
