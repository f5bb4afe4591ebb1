package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
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
	"k8s.io/utils/ptr"

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
	base   RunError

	streaming map[string]bool
	logs      *sync.WaitGroup
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
	fast     *RunError

	unschedulableTimer *time.Timer
	tail               *logRing
}

// wait watches the Job's pod until it ends, failing fast on states that will not recover,
// then reads the outputs. When ctx ends first, the pod is stopped gracefully.
func (e *Executor) wait(ctx context.Context, spec *RunSpec, b *JobObjects, job *batchv1.Job, action string, red *redactor) (*Result, error) {
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
	w := &podWatch{
		e: e, spec: spec, ns: ns, red: red, cancel: cancel, base: base,
		streaming: map[string]bool{}, logs: &logs, lastState: map[string]string{},
		pulls: map[string]int{}, pullSeen: map[string]string{}, tail: newLogRing(200),
	}
	defer w.stopTimers()
	if err := w.until(wctx, key); err != nil {
		cause := context.Cause(wctx)
		if ctx.Err() != nil {
			// Timeout or interrupt: stop the pod gracefully, then say which it was.
			return e.stop(ctx, w, key, e.gracePeriod(b.Job), spec, base)
		}
		if cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			var re *RunError
			if errors.As(cause, &re) {
				re.Runner = w.runnerStatus()
				re.Logs = e.logTails(context.WithoutCancel(ctx), ns, key, red, w.tail)
			}
			return nil, cause
		}
		return nil, fmt.Errorf("watch pod of job %s/%s: %w", ns, name, err)
	}
	w.drainLogs()
	cancel(nil)

	if w.fast != nil {
		re := base
		re.Container, re.Reason, re.Message, re.ExitCode = w.fast.Container, w.fast.Reason, w.fast.Message, w.fast.ExitCode
		re.Runner = w.runnerStatus()
		re.Logs = e.logTails(ctx, ns, key, red, w.tail)
		return nil, &re
	}
	if w.deleted {
		return nil, e.deletedPodError(context.WithoutCancel(ctx), w, key, spec, base)
	}
	return e.harvest(ctx, spec, w.last, key, base, red, w.tail)
}

// until follows the run's pod on the namespace's shared pod watch; it returns when the pod
// is over (every container ended, or a terminal phase), gone, or in a state that will not
// recover, or when ctx ends. observe is never called again once until has returned.
func (w *podWatch) until(ctx context.Context, job jobKey) error {
	sw, release := w.e.sharedWatches(w.ns)
	defer release()
	var mu sync.Mutex
	finished := false
	done := make(chan struct{})
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
			finished = true
			close(done)
		}
	})
	if err != nil {
		return err
	}
	defer stop()
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
	if refused := contractRefusal(pod); refused != nil && !w.deleted { // harvest.go
		// A sidecar refused this provider's contract version: pre-checks, when it runs,
		// kept the runner from starting; outputs-fetcher would be restarted in vain.
		w.fast = &RunError{Container: refused.Name, Reason: ReasonContractMismatch, Message: w.red.mask(strings.TrimSpace(refusedMessage(refused))),
			ExitCode: ptr.To(int32(contract.ExitContractMismatch))}
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
			go func(pod, c string) {
				defer w.logs.Done()
				w.e.streamLogs(ctx, w.ns, pod, c, w.red, w.tail)
			}(pod.Name, cs.Name)
		}
		if wt := cs.State.Waiting; wt != nil && !w.deleted {
			if unrecoverableWaiting[wt.Reason] {
				w.fast = &RunError{Container: cs.Name, Reason: wt.Reason, Message: w.red.mask(wt.Message)}
				return true
			}
			if wt.Reason == ReasonErrImagePull || wt.Reason == ReasonImagePullBackOff {
				if w.pullFailed(cs.Name, wt) {
					w.fast = &RunError{Container: cs.Name, Reason: wt.Reason, Message: w.red.mask(wt.Message)}
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

// permanentPull matches the image pull failures that no retry fixes: the image or tag does
// not exist, access is denied, the registry's host does not exist, the name is invalid.
var permanentPull = regexp.MustCompile(`(?i)not found|manifest unknown|name unknown|unauthorized|authentication required|access denied|denied:|forbidden|no such host|invalid reference|repository does not exist`)

func pullFailurePermanent(msg string) bool { return permanentPull.MatchString(msg) }

// checkSchedulable arms a timer when the scheduler cannot place the pod and disarms it
// when it can: the run fails only when the pod stayed unschedulable for the whole grace.
func (w *podWatch) checkSchedulable(pod *corev1.Pod) {
	var unsched *corev1.PodCondition
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			unsched = &pod.Status.Conditions[i]
		}
	}
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
	base := w.base
	w.unschedulableTimer = time.AfterFunc(grace, func() {
		re := base
		re.Reason = ReasonUnschedulable
		re.Message = fmt.Sprintf("the pod could not be scheduled for %s: %s", grace, msg)
		w.cancel(&re)
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
}

func (w *podWatch) runnerStatus() *RunnerStatus {
	if w.last == nil {
		return nil
	}
	for _, cs := range w.last.Status.ContainerStatuses {
		if cs.Name == contract.ContainerRunner {
			st := runnerStatus(cs)
			st.Message = w.red.mask(st.Message)
			return &st
		}
	}
	return nil
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

// podOver reports whether the pod will not change any more in a way that matters: a
// terminal phase, or every container (the native sidecar included) has ended, which the
// kubelet reports a few seconds before the phase.
func podOver(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return true
	}
	if len(pod.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range allStatuses(pod) {
		if cs.State.Terminated == nil {
			return false
		}
	}
	return true
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

// watchJob cancels the wait with a RunError when the Job fails or its pod cannot be
// created, until ctx ends. Events are matched by the Job's UID: an earlier Job of the same
// name (a retried update) has events of its own that must not fail this one.
func (e *Executor) watchJob(ctx context.Context, cancel context.CancelCauseFunc, base RunError, uid types.UID) {
	sw, release := e.sharedWatches(base.Namespace)
	defer release()
	var once sync.Once
	fail := func(reason, msg string) {
		once.Do(func() {
			re := base
			re.Reason, re.Message = reason, msg
			cancel(&re)
		})
	}
	stopEvents, err := follow(ctx, sw.events, false, func(o any, gone bool) {
		if x, ok := o.(*corev1.Event); ok && !gone && x.Reason == "FailedCreate" && x.InvolvedObject.Kind == "Job" && string(x.InvolvedObject.UID) == string(uid) {
			fail("FailedCreate", "the Job's pod could not be created: "+x.Message)
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
		if gone {
			fail(ReasonJobDeleted, "the Job was deleted while the run was in progress")
			return
		}
		for _, c := range j.Status.Conditions {
			// BackoffLimitExceeded follows a failed pod, which the pod watch reports with
			// more detail; only a deadline can fail a Job whose pod is still running.
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
				fail(c.Reason, c.Message)
				return
			}
		}
	})
	if err != nil {
		return
	}
	defer stopJobs()
	<-ctx.Done()
}
