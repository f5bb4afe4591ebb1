package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// stop ends a run whose caller gave up (ctx is done): the pod is deleted with its
// termination grace period, so the runner gets SIGTERM and time to stop cleanly, and
// outputs-fetcher, ended after it, saves the state directory. It waits for the pod to end,
// at most the grace period plus StopMargin, and returns a RunError that says whether the
// run timed out or was interrupted, and whether the state was saved. A pod that ended just
// as ctx did is not stopped: its result is returned as if the caller had waited.
func (e *Executor) stop(ctx context.Context, w *podWatch, job jobKey, grace time.Duration, spec *RunSpec, base RunError) (*Result, error) {
	reason, what := ReasonInterrupted, "was interrupted before it finished"
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		reason, what = ReasonTimeout, "timed out: it did not finish in time"
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace+StopMargin)
	defer cancel()
	if w.last != nil && podOver(w.last) {
		// It ended just as the caller gave up: its result is there to read, and recording
		// it beats running it again.
		w.drainLogs()
		return e.harvest(sctx, spec, w.last, job, base, w.red, w.tail)
	}
	w.stopping = true
	pods := e.Client.CoreV1().Pods(base.Namespace)
	list, err := pods.List(sctx, metav1.ListOptions{LabelSelector: podSelector(job)})
	if err == nil {
		for i := range list.Items {
			if p := &list.Items[i]; p.DeletionTimestamp == nil && podOver(p) {
				w.last = p // ended before the watch saw it
				return e.harvest(sctx, spec, p, job, base, w.red, w.tail)
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
		e.event("stopping pod of Job %s/%s gracefully: the run %s", base.Namespace, base.JobName, what)
		_ = w.until(sctx, job)
		w.drainLogs()
	}
	re := base
	re.Reason = reason
	re.Runner = w.runnerStatus()
	re.Message = fmt.Sprintf("the run %s (%v)", what, ctx.Err())
	if stopped > 0 {
		re.Message += "; its pod was stopped gracefully (SIGTERM to the runner, then outputs-fetcher)"
	}
	re.Message += e.stateNote(sctx, spec, base, &re)
	re.Logs = e.logTails(sctx, base.Namespace, job, w.red, w.tail)
	return nil, &re
}

// deletedPodError reports a pod deleted before the run finished: by a person, an
// eviction, a node drain or the loss of its node.
func (e *Executor) deletedPodError(ctx context.Context, w *podWatch, job jobKey, spec *RunSpec, base RunError) error {
	re := base
	re.Reason = ReasonPodDeleted
	name := ""
	why := ""
	if w.last != nil {
		name = " " + w.last.Name
		for _, c := range w.last.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
				why = fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
			}
		}
		if why == "" && w.last.Status.Reason != "" {
			why = fmt.Sprintf(" (%s: %s)", w.last.Status.Reason, w.last.Status.Message)
		}
	}
	re.Message = fmt.Sprintf("the run's pod%s was deleted before the run finished%s: by kubectl delete, an eviction, a node drain or the loss of its node; the runner was stopped", name, why)
	re.Runner = w.runnerStatus()
	re.Message += e.stateNote(ctx, spec, base, &re)
	re.Logs = e.logTails(ctx, base.Namespace, job, w.red, w.tail)
	return &re
}

// stateNote says whether a stopped run's state directory was saved, as outputs-fetcher
// recorded it with the outputs.
func (e *Executor) stateNote(ctx context.Context, spec *RunSpec, base RunError, re *RunError) string {
	if spec.State == nil {
		return ""
	}
	h, err := e.readHarvest(ctx, base.Namespace, base.JobName)
	switch {
	case err != nil || h == nil:
		return "; whether its state directory was saved is unknown (outputs-fetcher stored nothing): the last saved state is kept"
	case h.StateError != "":
		re.StateSaved = ptr.To(false)
		return "; its state directory was NOT saved (" + h.StateError + "): the previously saved state is kept"
	default:
		re.StateSaved = ptr.To(true)
		return fmt.Sprintf("; its state directory was saved (%d bytes)", h.StateBytes)
	}
}

// readHarvest reads what outputs-fetcher stored for a Job; nil when it stored nothing.
func (e *Executor) readHarvest(ctx context.Context, ns, job string) (*outputs.Harvest, error) {
	cms, err := e.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: outputsSelector(job, false)})
	if err != nil {
		return nil, fmt.Errorf("read outputs of job %s/%s: %w", ns, job, err)
	}
	secrets, err := e.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: outputsSelector(job, true)})
	if err != nil {
		return nil, fmt.Errorf("read secret outputs of job %s/%s: %w", ns, job, err)
	}
	if len(cms.Items) == 0 && len(secrets.Items) == 0 {
		return nil, nil
	}
	return outputs.Assemble(cms.Items, secrets.Items)
}
