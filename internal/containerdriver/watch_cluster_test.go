package containerdriver_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A create ends as soon as its outputs are stored, not when the kubelet reports that
// outputs-fetcher exited and the pod Succeeded (issue 21). Seen from the API: the run's
// cleanup starts deleting the pod while the pod still shows outputs-fetcher running and no
// terminal phase. A run that waits for the pod to be over (main) cannot show that: a pod's
// phase and its containers' ends do not go back. How long the kubelet takes to report
// outputs-fetcher's exit varies (a quarter of a second on a quiet cluster), so the test
// tries up to five creates and wants one that shows it (under a loaded machine the
// kubelet can report first: the outputs watch is as late as the pod status then).
func TestAccExecutor_RunEndsOnItsOutputs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pw, err := e.c.CoreV1().Pods(e.ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Stop()
	var mu sync.Mutex
	// firstDeleting is the first version of each pod that had a deletion timestamp, or its
	// last one when it went at once (a grace period of 0).
	firstDeleting := map[string]*corev1.Pod{}
	go func() {
		for ev := range pw.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok || (p.DeletionTimestamp == nil && ev.Type != watch.Deleted) {
				continue
			}
			mu.Lock()
			if firstDeleting[p.Name] == nil {
				firstDeleting[p.Name] = p.DeepCopy()
			}
			mu.Unlock()
		}
	}()
	fetcherState := func(p *corev1.Pod) string {
		for _, cs := range p.Status.InitContainerStatuses {
			if cs.Name == contract.ContainerOutputsFetcher {
				switch {
				case cs.State.Running != nil:
					return "running"
				case cs.State.Terminated != nil:
					return "terminated"
				}
			}
		}
		return "unknown"
	}
	var seen []string
	for try := 1; try <= 5; try++ {
		spec := e.spec(t, map[string]any{"outputs": map[string]any{"try": try}, "secret_outputs": map[string]any{"s": "t"}})
		res, rec, err := e.run(t, spec, contract.ActionCreate)
		if err != nil {
			t.Fatalf("create %d: %v\n%s", try, err, detail(err))
		}
		if fmt.Sprint(res.Outputs["try"]) != fmt.Sprint(try) || res.SecretOutputs["s"] != "t" {
			t.Fatalf("create %d: outputs %v, secret outputs of %d names", try, res.Outputs, len(res.SecretOutputs))
		}
		pods := e.seen.Pods(map[string]string{batchv1.JobNameLabel: res.JobName})
		if len(pods) != 1 {
			t.Fatalf("create %d: pods %v, want one", try, pods)
		}
		var first *corev1.Pod
		for i := 0; i < 100 && first == nil; i++ {
			mu.Lock()
			first = firstDeleting[pods[0]]
			mu.Unlock()
			if first == nil {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if first == nil {
			t.Fatalf("create %d: pod %s was never seen deleting", try, pods[0])
		}
		state := fmt.Sprintf("create %d: pod deleted in phase %s, outputs-fetcher %s", try, first.Status.Phase, fetcherState(first))
		seen = append(seen, state)
		t.Log(state)
		if first.Status.Phase == corev1.PodRunning && fetcherState(first) == "running" {
			t.Logf("events of create %d:\n%s", try, rec.all())
			e.assertEmpty(t)
			return
		}
	}
	t.Errorf("every run waited for its pod to be over before cleaning up: %v", seen)
}
