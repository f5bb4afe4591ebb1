package containerdriver_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

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
	var mu sync.Mutex
	// firstDeleting is the first version of each pod that had a deletion timestamp, or its
	// last one when it went at once (a grace period of 0).
	firstDeleting := map[string]*corev1.Pod{}
	note := func(o any, gone bool) {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		p, ok := o.(*corev1.Pod)
		if !ok || (p.DeletionTimestamp == nil && !gone) {
			return
		}
		mu.Lock()
		if firstDeleting[p.Name] == nil {
			firstDeleting[p.Name] = p.DeepCopy()
		}
		mu.Unlock()
	}
	// An informer, not a bare watch: it survives a watch the API server closes.
	inf := informers.NewSharedInformerFactoryWithOptions(e.c, 0, informers.WithNamespace(e.ns)).Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, o any) { note(o, false) },
		DeleteFunc: func(o any) { note(o, true) },
	}); err != nil {
		t.Fatal(err)
	}
	go inf.RunWithContext(ctx)
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		t.Fatal("pod informer did not sync")
	}
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
