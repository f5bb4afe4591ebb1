package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// DefaultUnschedulableGrace is how long a run waits for a pod the scheduler cannot place
// yet: long enough for a cluster autoscaler, Karpenter or preemption to make room.
const DefaultUnschedulableGrace = 5 * time.Minute

// podWatch follows the run's pod and decides when the wait is over. Its methods run on
// the watch's goroutine; what timers add goes through the context's cause.
type podWatch struct {
	e      *Executor
	spec   *RunSpec
	ns     string
	red    *redactor
	cancel context.CancelCauseFunc

	streaming map[string]bool
	logs      *sync.WaitGroup
	// logCtx carries the runner's log stream, apart from the wait's context: a run that
	// ended on its outputs lets it drain while it harvests and cleans up (nil: the
	// observe context). logCancel ends it once drained.
	logCtx    context.Context
	logCancel context.CancelFunc
	lastPhase corev1.PodPhase
	lastState map[string]string
	pulls     map[string]int // image pull failures seen, by container
	pullSeen  map[string]string

	// last is the last version of the pod seen, deleted or not.
	last *corev1.Pod
	// deleted: the pod went away (or started going) while the run was not over.
	deleted bool
	// stopping: the executor itself is stopping the pod (timeout, interrupt).
	stopping bool
	// fast is a failure that ends the wait before the pod does.
	fast *Failure

	unschedulableTimer *time.Timer
	tail               *logRing
	// seen receives the names of the output objects the harvest read (may be nil).
	seen *harvestedObjects

	// onOutputs: the run may end on its outputs (outputsStored) before its pod does.
	onOutputs bool
	// stored are the Job's outputs ConfigMaps, taken from the shared watch when chunk 0
	// arrived (nil before).
	stored []corev1.ConfigMap
	// endedOnOutputs: the wait ended on the outputs, not on the pod.
	endedOnOutputs bool
}

// wait watches the Job's pod until it ends, failing fast on states that will not recover,
// then reads the outputs. With onOutputs, a run whose runner succeeded ends as soon as its
// outputs are stored, before its pod does (outputsStored). When ctx ends first, the pod is
// stopped gracefully. What the harvest read is noted in seen (nil: not noted).
//
// A run that ended on its outputs harvests (and its caller cleans up) while the kubelet
// closes the log stream of the runner that ended, which took it a few hundred milliseconds
// on the local cluster: wait then sets *drained (when not nil) to the function that waits
// for the stream's end (at most 3 s), which the caller calls once the run is cleaned up.
// Every other run has drained the stream before wait returns.
func (e *Executor) wait(ctx context.Context, spec *RunSpec, b *JobObjects, job *batchv1.Job, action string, red *redactor, seen *harvestedObjects, onOutputs bool, drained *func()) (*Result, error) {
	ns, name := b.Job.Namespace, b.Job.Name
	base := RunError{Namespace: ns, JobName: name, Action: action}
	key := jobKey{Name: job.Name, UID: job.UID}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// The Job and its events tell what the pod cannot: a pod that was never created (for
	// example rejected by Pod Security admission) or a Job that ran out of time.
	jobWatched := make(chan struct{})
	go func() { defer close(jobWatched); e.watchJob(wctx, cancel, base, job.UID) }()
	defer func() { cancel(nil); <-jobWatched }()

	var logs sync.WaitGroup
	lctx, lcancel := context.WithCancel(ctx)
	handedOff := false // lcancel is w.drainLogs's to call, through drained
	defer func() {
		if !handedOff {
			lcancel()
		}
	}()
	w := &podWatch{
		logCtx: lctx, logCancel: lcancel,
		e: e, spec: spec, ns: ns, red: red, cancel: cancel,
		streaming: map[string]bool{}, logs: &logs, lastState: map[string]string{},
		pulls: map[string]int{}, pullSeen: map[string]string{}, tail: newLogRing(200), seen: seen,
		onOutputs: onOutputs,
	}
	defer w.stopTimers()
	if err := w.until(wctx, key); err != nil {
		cause := context.Cause(wctx)
		if ctx.Err() != nil {
			// Timeout or interrupt: stop the pod gracefully, then say which it was.
			return e.stop(ctx, w, key, e.gracePeriod(b.Job), spec, base)
		}
		if cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			var fc *failureCause
			if errors.As(cause, &fc) {
				fc.f.Runner = runnerOf(w.last, red)
				return nil, newRunError(base, fc.f, e.logTails(context.WithoutCancel(ctx), ns, key, red, w.tail))
			}
			return nil, cause
		}
		return nil, fmt.Errorf("watch pod of job %s/%s: %w", ns, name, err)
	}
	if w.endedOnOutputs && drained != nil {
		handedOff = true
		*drained = w.drainLogs
	} else {
		w.drainLogs()
	}
	cancel(nil)

	if w.fast != nil {
		w.fast.Runner = runnerOf(w.last, red)
		return nil, newRunError(base, w.fast, e.logTails(ctx, ns, key, red, w.tail))
	}
	if w.deleted {
		return nil, e.stoppedRunError(context.WithoutCancel(ctx), w, key, spec, base, deletedPodFailure(w.last))
	}
	if w.endedOnOutputs {
		e.event("outputs of Job %s/%s stored: reading them without waiting for the pod to end", ns, name)
		return e.harvest(ctx, spec, w.last, key, base, red, w.tail, w.seen, w.stored)
	}
	// w.stored is set when chunk 0 arrived before the harvest, even after the pod was over:
	// then the ConfigMaps are the watch's, not listed.
	return e.harvest(ctx, spec, w.last, key, base, red, w.tail, w.seen, w.stored)
}

// until follows the run's pod on the namespace's shared pod watch; it returns when the pod
// is over (every container ended, or a terminal phase), gone, or in a state that will not
// recover, when the run ended on its outputs (onOutputs: outputsStored), or when ctx ends.
// observe is never called again once until has returned.
func (w *podWatch) until(ctx context.Context, job jobKey) error {
	sw, release := w.e.sharedWatches(w.ns)
	defer release()
	var mu sync.Mutex
	finished := false
	var awaiting *time.Timer // the pod is over, chunk 0 is on its way (awaitsStored)
	defer func() {
		if awaiting != nil {
			awaiting.Stop()
		}
	}()
	done := make(chan struct{})
	end := func() {
		finished = true
		close(done)
	}
	stop, err := follow(ctx, sw.pods, false, func(o any, gone bool) {
		pod, ok := o.(*corev1.Pod)
		if !ok || !podOfJob(pod, job) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return
		}
		if w.observe(ctx, pod, gone) {
			if w.awaitsStored(pod, sw.outputs.HasSynced()) {
				// The pod was reported over before the outputs watch delivered chunk 0,
				// which outputs-fetcher wrote before it exited with 0: it is on its way.
				// Wait for it briefly (the harvest then lists nothing), then list.
				if awaiting == nil {
					awaiting = time.AfterFunc(storedArrivalWait, func() {
						mu.Lock()
						defer mu.Unlock()
						if !finished {
							end()
						}
					})
				}
				return
			}
			end()
		} else if w.outputsStored() {
			w.endedOnOutputs = true
			end()
		}
	})
	if err != nil {
		return err
	}
	defer stop()
	if w.onOutputs {
		stopOutputs, err := follow(ctx, sw.outputs, false, func(o any, gone bool) {
			cm, ok := o.(*corev1.ConfigMap)
			if !ok || gone || cm.Name != contract.OutputsObjectName(job.Name) || !ownedByJob(cm, job) {
				return
			}
			// Chunk 0: outputs-fetcher wrote every other ConfigMap chunk before it, and the
			// watch delivers a namespace's ConfigMaps in the order they were written, so the
			// store holds them all now.
			stored := storedOutputs(sw.outputs.GetStore(), job)
			mu.Lock()
			defer mu.Unlock()
			if finished || w.stored != nil {
				return
			}
			w.stored = stored
			if w.outputsStored() {
				w.endedOnOutputs = true
				end()
			} else if awaiting != nil {
				end() // the pod was over already: harvest what the watch holds
			}
		})
		if err != nil {
			return err
		}
		defer stopOutputs()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return nil
		}
		finished = true
		return sw.explain(ctx.Err())
	}
}

// outputsStored reports whether the run can end before its pod does: its runner exited
// with 0 and chunk 0 of its outputs ConfigMap has arrived. outputs-fetcher writes that
// chunk after the state, every Secret and every other ConfigMap chunk, and then nothing
// more, so everything the run will ever store is there; what is left of the pod is
// outputs-fetcher exiting, which the kubelet may take seconds to report. Any other end
// (a failure, a deleted pod, a stop) waits for the pod as before.
func (w *podWatch) outputsStored() bool {
	return w.onOutputs && w.stored != nil && w.last != nil && !w.deleted && !w.stopping && w.fast == nil && runnerSucceeded(w.last)
}

// storedArrivalWait bounds how long a run whose pod was reported over waits for chunk 0
// of its outputs on the outputs watch (awaitsStored) before it lists them instead. The
// watch usually delivers it before the pod's end, or milliseconds after.
const storedArrivalWait = 5 * time.Second

// awaitsStored reports whether the run, whose pod is over, should wait for chunk 0 of its
// outputs on the outputs watch rather than list them: it may end on its outputs, the watch
// has synced (without the right to watch ConfigMaps it never does), chunk 0 has not arrived,
// the runner exited with 0 and outputs-fetcher with 0 too, which it does only after it
// wrote chunk 0.
func (w *podWatch) awaitsStored(pod *corev1.Pod, outputsSynced bool) bool {
	if !w.onOutputs || !outputsSynced || w.stored != nil || w.deleted || w.stopping || w.fast != nil || !runnerSucceeded(pod) {
		return false
	}
	for _, cs := range pod.Status.InitContainerStatuses {
		if cs.Name == contract.ContainerOutputsFetcher {
			return cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
		}
	}
	return false
}

// storedOutputs returns the outputs ConfigMaps of job that store holds.
func storedOutputs(store cache.Store, job jobKey) []corev1.ConfigMap {
	out := []corev1.ConfigMap{}
	for _, o := range store.List() {
		if cm, ok := o.(*corev1.ConfigMap); ok && ownedByJob(cm, job) {
			out = append(out, *cm)
		}
	}
	return out
}

// observe takes one version of the pod and reports whether the wait is over.
func (w *podWatch) observe(ctx context.Context, pod *corev1.Pod, gone bool) bool {
	w.last = pod
	if gone {
		if !podOver(pod) && !w.stopping {
			w.deleted = true
		}
		return true
	}
	if pod.DeletionTimestamp != nil && !podOver(pod) && !w.stopping && !w.deleted {
		// Someone deletes the pod (kubectl delete, an eviction, a drain): let it end
		// gracefully, so outputs-fetcher saves the state, and report the deletion.
		w.deleted = true
		w.e.event("pod %s is being deleted before the run finished", pod.Name)
	}
	if pod.Status.Phase != w.lastPhase {
		w.lastPhase = pod.Status.Phase
		w.e.event("pod %s: %s", pod.Name, pod.Status.Phase)
	}
	if f := refusal(pod, w.red); f != nil && !w.deleted { // interpret.go
		// A sidecar refused this provider's contract version: pre-checks, when it runs,
		// kept the runner from starting; outputs-fetcher would be restarted in vain.
		w.fast = f
		return true
	}
	for _, cs := range allStatuses(pod) {
		st := describeState(cs.State)
		if w.lastState[cs.Name] != st {
			w.lastState[cs.Name] = st
			w.e.event("container %s: %s", cs.Name, st)
		}
		if (cs.State.Running != nil || cs.State.Terminated != nil) && cs.Name == contract.ContainerRunner && !w.streaming[cs.Name] {
			w.streaming[cs.Name] = true
			w.logs.Add(1)
			lctx := ctx
			if w.logCtx != nil {
				lctx = w.logCtx
			}
			go func(pod, c string) {
				defer w.logs.Done()
				w.e.streamLogs(lctx, w.ns, pod, c, w.red, w.tail)
			}(pod.Name, cs.Name)
		}
		if wt := cs.State.Waiting; wt != nil && !w.deleted {
			if unrecoverableWaiting[wt.Reason] {
				w.fast = waitingFailure(cs.Name, wt, w.red)
				return true
			}
			if wt.Reason == ReasonErrImagePull || wt.Reason == ReasonImagePullBackOff {
				if w.pullFailed(cs.Name, wt) {
					w.fast = waitingFailure(cs.Name, wt, w.red)
					return true
				}
			}
		}
	}
	w.checkSchedulable(pod)
	return podOver(pod)
}

// pullFailed counts image pull failures and reports whether the run should give up: at
// once for a failure that cannot recover, after PullRetries for one that may.
func (w *podWatch) pullFailed(container string, wt *corev1.ContainerStateWaiting) bool {
	if wt.Reason == ReasonErrImagePull && w.pullSeen[container] != wt.Message+"|"+wt.Reason {
		w.pulls[container]++
	}
	w.pullSeen[container] = wt.Message + "|" + wt.Reason
	if pullFailurePermanent(wt.Message) {
		return true
	}
	limit := w.e.PullRetries
	if limit <= 0 {
		limit = 3
	}
	if w.pulls[container] > limit {
		return true
	}
	w.e.event("container %s: image pull failed (%d of %d tries), retrying: %s", container, w.pulls[container], limit+1, w.red.mask(wt.Message))
	return false
}

// checkSchedulable arms a timer when the scheduler cannot place the pod and disarms it
// when it can: the run fails only when the pod stayed unschedulable for the whole grace.
func (w *podWatch) checkSchedulable(pod *corev1.Pod) {
	unsched := unschedulableCondition(pod)
	if unsched == nil {
		if w.unschedulableTimer != nil {
			w.unschedulableTimer.Stop()
			w.unschedulableTimer = nil
			w.e.event("pod %s was scheduled", pod.Name)
		}
		return
	}
	grace := w.spec.UnschedulableGrace
	if grace == 0 {
		grace = DefaultUnschedulableGrace
	}
	msg := unsched.Message
	if w.unschedulableTimer != nil {
		return
	}
	w.e.event("pod %s cannot be scheduled yet (%s); waiting up to %s for the cluster to make room", pod.Name, msg, grace)
	w.unschedulableTimer = time.AfterFunc(grace, func() {
		w.cancel(&failureCause{unschedulableFailure(grace, msg)})
	})
}

func (w *podWatch) stopTimers() {
	if w.unschedulableTimer != nil {
		w.unschedulableTimer.Stop()
	}
}

// drainLogs lets the log stream deliver the runner's last lines, but never waits long.
func (w *podWatch) drainLogs() {
	done := make(chan struct{})
	go func() { w.logs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	if w.logCancel != nil {
		w.logCancel()
	}
}

// jobKey names a Job and, on a real cluster, its UID: pods and events are matched by the
// UID, so an earlier Job of the same name cannot be mistaken for this one.
type jobKey struct {
	Name string
	UID  types.UID
}

// podSelector selects the Job's pods: by the controller's UID label, or by the Job's name
// when the UID is unknown (a fake clientset).
func podSelector(job jobKey) string {
	if job.UID == "" {
		return labels.Set{batchv1.JobNameLabel: job.Name}.String()
	}
	return labels.Set{batchv1.ControllerUidLabel: string(job.UID)}.String()
}

// listWatch is a ListWatch of client whose list and watch calls both get the same selector.
// Like client-go's generated informers, it tells the reflector whether client serves
// watch-list streams (client-go's fake clientset does not: its reflectors then list, where
// they would otherwise wait for an initial-events bookmark that never comes); a real
// clientset keeps client-go's default, a watch-list stream where the server has it and a
// list where it has not.
func listWatch(client any, sel func(*metav1.ListOptions), list func(context.Context, metav1.ListOptions) (runtime.Object, error), w func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			sel(&o)
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			sel(&o)
			return w(ctx, o)
		},
	}, client)
}

// jobsListWatch lists and watches the Jobs of a namespace that sel selects.
func (e *Executor) jobsListWatch(ns string, sel func(*metav1.ListOptions)) cache.ListerWatcher {
	return listWatch(e.Client, sel,
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return e.Client.BatchV1().Jobs(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return e.Client.BatchV1().Jobs(ns).Watch(ctx, o)
		})
}

// watchJob cancels the wait with a Failure when the Job fails or its pod cannot be
// created, until ctx ends. Events are matched by the Job's UID (jobEventFailure).
func (e *Executor) watchJob(ctx context.Context, cancel context.CancelCauseFunc, base RunError, uid types.UID) {
	sw, release := e.sharedWatches(base.Namespace)
	defer release()
	var once sync.Once
	fail := func(f *Failure) {
		if f != nil {
			once.Do(func() { cancel(&failureCause{f}) })
		}
	}
	stopEvents, err := follow(ctx, sw.events, false, func(o any, gone bool) {
		if x, ok := o.(*corev1.Event); ok && !gone {
			fail(jobEventFailure(x, uid))
		}
	})
	if err != nil {
		return
	}
	defer stopEvents()
	stopJobs, err := follow(ctx, sw.jobs, false, func(o any, gone bool) {
		j, ok := o.(*batchv1.Job)
		if !ok || j.Name != base.JobName || string(j.UID) != string(uid) {
			return
		}
		fail(jobFailure(j, gone))
	})
	if err != nil {
		return
	}
	defer stopJobs()
	<-ctx.Done()
}
