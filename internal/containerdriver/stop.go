package containerdriver

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// stop ends a run whose caller gave up (ctx is done): the pod is deleted with its
// termination grace period, so the runner gets SIGTERM and time to stop cleanly, and
// outputs-fetcher, ended after it, saves the state directory. It waits for the pod to end,
// at most the grace period plus StopMargin, and returns a RunError that says whether the
// run timed out or was interrupted, and whether the state was saved. A pod that ended just
// as ctx did is not stopped: its result is returned as if the caller had waited.
func (e *Executor) stop(ctx context.Context, w *podWatch, job jobKey, grace time.Duration, spec *RunSpec, base RunError) (*Result, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace+StopMargin)
	defer cancel()
	if w.last != nil && podOver(w.last) {
		// It ended just as the caller gave up: its result is there to read, and recording
		// it beats running it again.
		w.drainLogs()
		return e.harvest(sctx, spec, w.last, job, base, w.red, w.tail, w.seen, nil)
	}
	w.stopping = true
	pods := e.Client.CoreV1().Pods(base.Namespace)
	list, err := pods.List(sctx, metav1.ListOptions{LabelSelector: podSelector(job)})
	if err == nil {
		for i := range list.Items {
			if p := &list.Items[i]; p.DeletionTimestamp == nil && podOver(p) {
				w.last = p // ended before the watch saw it
				return e.harvest(sctx, spec, p, job, base, w.red, w.tail, w.seen, nil)
			}
		}
	}
	stopped := 0
	if err == nil {
		opts := metav1.DeleteOptions{}
		if e.StopGrace > 0 {
			opts.GracePeriodSeconds = ptr.To(int64(e.StopGrace.Seconds()))
		}
		for _, p := range list.Items {
			if p.DeletionTimestamp != nil || podOver(&p) {
				continue
			}
			if err := pods.Delete(sctx, p.Name, opts); err == nil || apierrors.IsNotFound(err) {
				stopped++
			}
		}
	}
	if stopped > 0 {
		_, what := stopWhy(ctx.Err())
		e.event("stopping pod of Job %s/%s gracefully: the run %s", base.Namespace, base.JobName, what)
		_ = w.until(sctx, job)
		w.drainLogs()
	}
	f := stoppedFailure(ctx.Err(), stopped > 0)
	return nil, e.stoppedRunError(sctx, w, job, spec, base, f)
}

// stoppedRunError is the RunError of a run stopped before it finished (f): with the
// runner's last status, whether its state directory was saved, and the log tails.
func (e *Executor) stoppedRunError(ctx context.Context, w *podWatch, job jobKey, spec *RunSpec, base RunError, f *Failure) *RunError {
	f.Runner = runnerOf(w.last, w.red)
	if spec.State != nil {
		h, err := e.readHarvest(ctx, base.Namespace, base.JobName, nil, nil)
		f.noteState(spec, h, err)
	}
	return newRunError(base, f, e.logTails(ctx, base.Namespace, job, w.red, w.tail))
}
