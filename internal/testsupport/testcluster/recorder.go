package testcluster

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Recorder remembers every Job and Pod that appeared in a namespace while a test ran,
// through a shared informer started before the test acts, so a test can tell what ran even
// after the run's cleanup deleted it. Checking the namespace afterwards cannot: a destroy
// Job that ran and was cleaned up leaves the same empty namespace as one that never ran.
type Recorder struct {
	mu   sync.Mutex
	jobs map[string]metav1.ObjectMeta
	pods map[string]metav1.ObjectMeta
	// specs are the Jobs as first seen, by UID.
	specs map[string]*batchv1.Job
	// started are the pods seen with a container that had started, by UID.
	started map[string]string
}

// Record starts recording the Jobs and Pods of ns and returns once the informers have
// synced (anything created after that is seen). It stops when the test ends.
func Record(t testing.TB, c kubernetes.Interface, ns string) *Recorder {
	t.Helper()
	r := &Recorder{jobs: map[string]metav1.ObjectMeta{}, pods: map[string]metav1.ObjectMeta{}, specs: map[string]*batchv1.Job{}, started: map[string]string{}}
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	add := func(into map[string]metav1.ObjectMeta) cache.ResourceEventHandler {
		return cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) {
			m, err := meta(obj)
			if err != nil {
				return
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			into[string(m.UID)] = m
			if j, ok := obj.(*batchv1.Job); ok {
				r.specs[string(m.UID)] = j.DeepCopy()
			}
		}}
	}
	if _, err := f.Batch().V1().Jobs().Informer().AddEventHandler(add(r.jobs)); err != nil {
		t.Fatalf("record jobs of %s: %v", ns, err)
	}
	if _, err := f.Core().V1().Pods().Informer().AddEventHandler(add(r.pods)); err != nil {
		t.Fatalf("record pods of %s: %v", ns, err)
	}
	noteStarted := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && containerStarted(p) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.started[string(p.UID)] = p.Name
		}
	}
	if _, err := f.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: noteStarted, UpdateFunc: func(_, obj any) { noteStarted(obj) },
	}); err != nil {
		t.Fatalf("record pods of %s: %v", ns, err)
	}
	stop := make(chan struct{})
	f.Start(stop)
	t.Cleanup(func() {
		close(stop)
		f.Shutdown()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("record %s: the informer of %s did not sync within a minute", ns, typ)
		}
	}
	return r
}

func meta(obj any) (metav1.ObjectMeta, error) {
	o, ok := obj.(metav1.Object)
	if !ok {
		return metav1.ObjectMeta{}, fmt.Errorf("%T is not an object", obj)
	}
	return metav1.ObjectMeta{Name: o.GetName(), UID: o.GetUID(), Labels: o.GetLabels()}, nil
}

// Jobs returns the names of the Jobs seen whose labels hold all of sel, sorted.
func (r *Recorder) Jobs(sel map[string]string) []string { return r.names(r.jobs, sel) }

// JobSpecs returns the Jobs seen whose labels hold all of sel, as they were first seen,
// oldest first.
func (r *Recorder) JobSpecs(sel map[string]string) []*batchv1.Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*batchv1.Job
	for uid, m := range r.jobs {
		if matches(m.Labels, sel) {
			out = append(out, r.specs[uid])
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreationTimestamp.Equal(&out[j].CreationTimestamp) {
			return out[i].CreationTimestamp.Before(&out[j].CreationTimestamp)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Pods returns the names of the Pods seen whose labels hold all of sel, sorted.
func (r *Recorder) Pods(sel map[string]string) []string { return r.names(r.pods, sel) }

// StartedPods returns the names of the Pods seen with a container (init, sidecar or
// main) running or ended, sorted.
func (r *Recorder) StartedPods() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.started {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// containerStarted: a container running, or ended with a start time (the kubelet reports
// a container it never started as terminated, without one, when its pod is deleted).
func containerStarted(p *corev1.Pod) bool {
	ranOnce := func(t *corev1.ContainerStateTerminated) bool { return t != nil && !t.StartedAt.IsZero() }
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if cs.State.Running != nil || ranOnce(cs.State.Terminated) || ranOnce(cs.LastTerminationState.Terminated) {
			return true
		}
	}
	return false
}

func (r *Recorder) names(from map[string]metav1.ObjectMeta, sel map[string]string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range from {
		if matches(m.Labels, sel) {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func matches(labels, sel map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
