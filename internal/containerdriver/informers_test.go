package containerdriver

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// watchActions counts the watch calls the fake clientset received, by resource.
func watchActions(c *fake.Clientset) map[string]int {
	n := map[string]int{}
	for _, a := range c.Actions() {
		if a.GetVerb() == "watch" {
			n[a.GetResource().Resource]++
		}
	}
	return n
}

// N runs at once in one namespace open one watch per kind, and the watches stop once the
// last run is done (issue 21). The cluster test counts the same on the wire.
func TestSharedWatches_OnePerKindAndStoppedWhenUnused(t *testing.T) {
	old := SharedWatchLinger
	SharedWatchLinger = 0
	t.Cleanup(func() { SharedWatchLinger = old })

	const n = 6
	var objs []runtime.Object
	specs := make([]*RunSpec, n)
	for i := range n {
		spec := minimalSpec()
		spec.RunID = spec.RunID + string(rune('a'+i))
		specs[i] = spec
		built, _ := BuildJob(spec, contract.ActionCreate)
		objs = append(objs, outputObjects(built.Job.Name, outputs.Harvest{Outputs: []byte(`{}`)})...)
		objs = append(objs, finishedPod(built.Job.Name, corev1.PodSucceeded, 0))
	}
	c := fakeCluster(objs...)
	// Hold the namespace's watches while the runs start, as a long run would.
	e := &Executor{Client: c}
	_, release := e.sharedWatches("ns")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = runWithTimeout(t, &Executor{Client: c}, specs[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	got := watchActions(c)
	for _, kind := range []string{"pods", "jobs", "events"} {
		if got[kind] != 1 {
			t.Errorf("%d runs: %d watches of %s, want 1 (%v)", n, got[kind], kind, got)
		}
	}
	release()
	shared.Lock()
	_, left := shared.m[sharedKey{client: c, ns: "ns"}]
	shared.Unlock()
	if left {
		t.Error("the namespace is still watched after the last run")
	}
	// The next run starts them again.
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	c2 := fakeCluster(append(outputObjects(built.Job.Name, outputs.Harvest{Outputs: []byte(`{}`)}), finishedPod(built.Job.Name, corev1.PodSucceeded, 0))...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := (&Executor{Client: c2}).Run(ctx, spec, contract.ActionCreate); err != nil {
		t.Fatal(err)
	}
	if w := watchActions(c2)["pods"]; w != 1 {
		t.Errorf("a run after the watches stopped opened %d pod watches, want 1", w)
	}
}

// A linger keeps the watches of a namespace for the next run; the last release after it
// stops them.
func TestSharedWatches_Linger(t *testing.T) {
	old := SharedWatchLinger
	SharedWatchLinger = 50 * time.Millisecond
	t.Cleanup(func() { SharedWatchLinger = old })
	e := &Executor{Client: fakeCluster()}
	w1, r1 := e.sharedWatches("ns")
	r1()
	w2, r2 := e.sharedWatches("ns")
	if w1 != w2 {
		t.Fatal("a run within the linger got new watches")
	}
	r2()
	r2() // a second release is a no-op
	time.Sleep(200 * time.Millisecond)
	shared.Lock()
	_, still := shared.m[sharedKey{client: e.Client, ns: "ns"}]
	shared.Unlock()
	if still {
		t.Error("watches still running after the linger")
	}
}
