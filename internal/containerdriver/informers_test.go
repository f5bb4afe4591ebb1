package containerdriver

import (
	"context"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"

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
	stopped := func() bool {
		shared.Lock()
		defer shared.Unlock()
		_, still := shared.m[sharedKey{client: e.Client, ns: "ns"}]
		return !still
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 5*time.Second, true,
		func(context.Context) (bool, error) { return stopped(), nil }); err != nil {
		t.Error("watches still running 5 s after a linger of 50 ms")
	}
}

// client-go turns its reflectors' watch-list streams on by default since v0.35; the fake
// clientset serves none, so a reflector on it must be told, or it waits for an
// initial-events bookmark that never comes. A real clientset keeps the stream: the
// reflector falls back to a list by itself where the server does not serve it.
func TestListWatch_WatchListOnlyWhereTheClientServesIt(t *testing.T) {
	all := func(*metav1.ListOptions) {}
	faked := &Executor{Client: fake.NewClientset()}
	if !watchlist.DoesClientNotSupportWatchListSemantics(faked.jobsListWatch("ns", all)) {
		t.Error("the Job list-watch on a fake clientset asks for a watch-list stream the fake does not serve")
	}
	clientset, err := kubernetes.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if watchlist.DoesClientNotSupportWatchListSemantics((&Executor{Client: clientset}).jobsListWatch("ns", all)) {
		t.Error("the Job list-watch on a real clientset turned client-go's watch-list stream off")
	}
	// The shared watches are built the same way.
	w := newNSWatches(faked.Client, "ns")
	defer w.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for kind, inf := range map[string]cache.SharedIndexInformer{"pods": w.pods, "jobs": w.jobs, "events": w.events} {
		if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			t.Errorf("the shared %s watch on a fake clientset never synced", kind)
		}
	}
}
