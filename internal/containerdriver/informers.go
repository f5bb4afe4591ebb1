package containerdriver

import (
	"context"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// One watch per namespace and kind, shared by every run of the provider process.
//
// A run used to list and watch its own pod, Job and events: N runs in one namespace opened
// 3N watches and made 3N lists. Now the runs of one client (one provider configuration:
// one cluster and one set of credentials) in one namespace share four client-go
// informers: the Jobs and pods that carry the driver's managed-by label, the events
// that say a Job could not create its pod, and the outputs ConfigMaps outputs-fetcher
// writes (a create or destroy ends as soon as its own is there: watch.go). Each run
// registers handlers that pick out its own objects. The informers start with the first run that needs them and stop when the
// last run releasing them has been gone for SharedWatchLinger (so the runs of one apply
// that follow each other reuse them).

// SharedWatchLinger is how long the shared watches of a namespace outlive their last run.
var SharedWatchLinger = 30 * time.Second

// sharedKey names the shared watches: the client stands for the cluster and the
// credentials (two provider configurations never share a watch, since their rights may
// differ), and the namespace.
type sharedKey struct {
	client kubernetes.Interface
	ns     string
}

// nsWatches are the informers of one namespace.
type nsWatches struct {
	pods, jobs, events cache.SharedIndexInformer
	// outputs holds the outputs ConfigMaps (role outputs) of the namespace's runs. A run
	// does not depend on it: without it (no watch right on configmaps, say) a run ends
	// when its pod does and lists its outputs, as it always did.
	outputs cache.SharedIndexInformer

	lingering // held by the runs of the namespace (sharedWatches)

	mu      sync.Mutex
	lastErr error // the last list or watch error, for the message of a run that timed out
}

var shared = struct {
	sync.Mutex
	m map[sharedKey]*nsWatches
}{m: map[sharedKey]*nsWatches{}}

// sharedWatches returns the shared informers of ns, starting them if needed, and a release
// function the run calls once it no longer waits on them.
func (e *Executor) sharedWatches(ns string) (*nsWatches, func()) {
	key := sharedKey{client: e.Client, ns: ns}
	shared.Lock()
	defer shared.Unlock()
	w := shared.m[key]
	if w == nil {
		w = newNSWatches(e.Client, ns)
		shared.m[key] = w
	}
	return w, w.hold(&shared.Mutex, func() bool { return shared.m[key] == w }, func() { delete(shared.m, key) })
}

// lingering is what lets a shared watch be held by the runs (or claims) that use it: how
// many hold it, under the lock of the map that keeps it, and, once the last let go, the
// timer that stops it SharedWatchLinger later unless another came meanwhile.
type lingering struct {
	refs   int
	cancel context.CancelFunc
	linger *time.Timer
}

// hold takes a reference on l (the caller holds mu) and returns the function that gives
// it back. kept reports whether the map still keeps l and forget removes it from there,
// both called under mu: the last release stops l SharedWatchLinger later (at once when
// that is not positive), unless it was held again meanwhile.
func (l *lingering) hold(mu *sync.Mutex, kept func() bool, forget func()) func() {
	if l.linger != nil {
		l.linger.Stop()
		l.linger = nil
	}
	l.refs++
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			l.refs--
			if l.refs > 0 {
				return
			}
			if SharedWatchLinger <= 0 {
				if kept() {
					forget()
				}
				l.cancel()
				return
			}
			l.linger = time.AfterFunc(SharedWatchLinger, func() {
				mu.Lock()
				defer mu.Unlock()
				if l.refs == 0 && kept() {
					forget()
					l.cancel()
				}
			})
		})
	}
}

// managedSelector selects the objects the driver made.
var managedSelector = labels.Set{contract.LabelManagedBy: contract.ManagedByValue}.String()

// outputsConfigMapSelector selects the ConfigMaps outputs-fetcher writes with a run's
// outputs (every chunk carries the role).
var outputsConfigMapSelector = labels.Set{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: contract.RoleOutputs}.String()

// failedCreateSelector selects the events that say a Job could not create its pod.
var failedCreateSelector = fields.Set{"involvedObject.kind": "Job", "reason": "FailedCreate"}.String()

func newNSWatches(c kubernetes.Interface, ns string) *nsWatches {
	ctx, cancel := context.WithCancel(context.Background())
	w := &nsWatches{lingering: lingering{cancel: cancel}}
	byLabel := func(o *metav1.ListOptions) { o.LabelSelector = managedSelector }
	w.pods = cache.NewSharedIndexInformer(listWatch(c, byLabel,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Pods(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Pods(ns).Watch(ctx, o)
		}), &corev1.Pod{}, 0, cache.Indexers{})
	w.jobs = cache.NewSharedIndexInformer(listWatch(c, byLabel,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.BatchV1().Jobs(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.BatchV1().Jobs(ns).Watch(ctx, o)
		}), &batchv1.Job{}, 0, cache.Indexers{})
	w.events = cache.NewSharedIndexInformer(listWatch(c, func(o *metav1.ListOptions) { o.FieldSelector = failedCreateSelector },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().Events(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().Events(ns).Watch(ctx, o)
		}), &corev1.Event{}, 0, cache.Indexers{})
	w.outputs = cache.NewSharedIndexInformer(listWatch(c, func(o *metav1.ListOptions) { o.LabelSelector = outputsConfigMapSelector },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return c.CoreV1().ConfigMaps(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.CoreV1().ConfigMaps(ns).Watch(ctx, o)
		}), &corev1.ConfigMap{}, 0, cache.Indexers{})
	for _, inf := range []cache.SharedIndexInformer{w.pods, w.jobs, w.events} {
		_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			w.mu.Lock()
			w.lastErr = err
			w.mu.Unlock()
		})
		go inf.RunWithContext(ctx)
	}
	// Its errors keep client-go's default handler (a log line) and are not a run's
	// lastErr: a run waits on the other watches, and without this one only ends later.
	go w.outputs.RunWithContext(ctx)
	return w
}

// explain adds the shared watches' last error to a wait that ended without an answer, so
// a run that could not watch (for example a missing list or watch right) says why.
func (w *nsWatches) explain(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastErr == nil {
		return err
	}
	return fmt.Errorf("%w (last error of the watch: %w)", err, w.lastErr)
}

// follow calls fn, one call at a time, with every version of the objects of inf (the ones
// already there first), and with gone set for a deletion, until the returned stop is called.
// With synced, it returns only once inf has delivered the objects it already had.
func follow(ctx context.Context, inf cache.SharedIndexInformer, synced bool, fn func(obj any, gone bool)) (stop func(), err error) {
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { fn(o, false) },
		UpdateFunc: func(_, o any) { fn(o, false) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			fn(o, true)
		},
	})
	if err != nil {
		return nil, err
	}
	stop = func() { _ = inf.RemoveEventHandler(reg) }
	if !synced {
		return stop, nil
	}
	if err := wait.PollUntilContextCancel(ctx, 10*time.Millisecond, true, func(context.Context) (bool, error) {
		return reg.HasSynced(), nil
	}); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// podOfJob reports whether pod belongs to job: by the controller's UID label, or by the
// Job's name when the UID is unknown (a fake clientset), as podSelector does.
func podOfJob(pod *corev1.Pod, job jobKey) bool {
	if job.UID == "" {
		return pod.Labels[batchv1.JobNameLabel] == job.Name
	}
	return pod.Labels[batchv1.ControllerUidLabel] == string(job.UID)
}

// watchedPods returns the pods of the Job named job from the namespace's shared pod watch,
// when one is running and has synced; ok is false otherwise. It starts no watch.
func (e *Executor) watchedPods(ns, job string) (pods []corev1.Pod, ok bool) {
	shared.Lock()
	w := shared.m[sharedKey{client: e.Client, ns: ns}]
	shared.Unlock()
	if w == nil || !w.pods.HasSynced() {
		return nil, false
	}
	for _, o := range w.pods.GetStore().List() {
		if p, isPod := o.(*corev1.Pod); isPod && p.Labels[batchv1.JobNameLabel] == job {
			pods = append(pods, *p)
		}
	}
	return pods, true
}
