package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
)

// ForceCleanup removes everything a run id has in its namespace without running the
// destroy action: every Job of the run, their objects and the run's saved state. It is
// for a runner that can no longer succeed; what the runner created outside the cluster
// is left as it is.
func (e *Executor) ForceCleanup(ctx context.Context, spec *RunSpec) error {
	ns := spec.Namespace()
	jobs, err := e.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{
		contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: runLabel(spec.RunID)}.String()})
	if err != nil {
		return fmt.Errorf("list jobs of run %s: %w", spec.RunID, err)
	}
	var errs []error
	for _, j := range jobs.Items {
		if err := e.Cleanup(ctx, ns, j.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := (&statedir.Store{Secrets: e.Client.CoreV1().Secrets(ns), Namespace: ns, RunID: spec.RunID}).Delete(ctx); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, e.WriteOnly(spec).Forget(ctx))
	return errors.Join(errs...)
}

// Cleanup deletes a Job, its pod and every object created for it (inputs and outputs).
func (e *Executor) Cleanup(ctx context.Context, ns, job string) error {
	var errs []error
	err := e.Client.BatchV1().Jobs(ns).Delete(ctx, job, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	// A pod that still runs a container (a run that failed fast, before its runner ended)
	// goes first, and the Secrets and ConfigMaps only once it is gone: its outputs-fetcher
	// stores what it has when the pod's deletion sends it SIGTERM, and a Secret written
	// after the listing below would outlive the run (until the garbage collector found its
	// Job gone). A pod deleted with a grace period stays in the API until its containers
	// have exited, so "gone" means nothing of it can still write.
	pods := e.podsOf(ctx, ns, job)
	live := false
	for _, o := range pods {
		if podRunsAContainer(&o) {
			live = true
			if err := e.Client.CoreV1().Pods(ns).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(liveRunGrace)}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if live {
		e.waitPodsGone(ctx, ns, job)
	}
	// List and delete one by one rather than DeleteCollection: it needs only the list and
	// delete verbs a provider's identity usually has.
	sel := metav1.ListOptions{LabelSelector: labels.Set{contract.LabelJob: job}.String()}
	if list, err := e.Client.CoreV1().Secrets(ns).List(ctx, sel); err != nil {
		errs = append(errs, err)
	} else {
		for _, o := range list.Items {
			if err := e.Client.CoreV1().Secrets(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if list, err := e.Client.CoreV1().ConfigMaps(ns).List(ctx, sel); err != nil {
		errs = append(errs, err)
	} else {
		for _, o := range list.Items {
			if err := e.Client.CoreV1().ConfigMaps(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	// Pods go with the Job in the background; delete the ended ones now so the namespace is
	// empty when Run returns.
	if !live {
		for _, o := range pods {
			if err := e.Client.CoreV1().Pods(ns).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// liveRunGrace is the grace period Cleanup gives a pod that still runs a container: time
// for outputs-fetcher to store what it has and exit, short of the pod's own grace period
// (which is sized for a runner's graceful stop, already over when Cleanup runs).
const liveRunGrace int64 = 5

// livePodWait bounds Cleanup's wait for a pod that still ran a container to be gone.
const livePodWait = 30 * time.Second

// podsOf returns the Job's pods: from the namespace's shared pod watch when a run holds
// it (no request), else listed.
func (e *Executor) podsOf(ctx context.Context, ns, job string) []corev1.Pod {
	if pods, ok := e.watchedPods(ns, job); ok {
		return pods
	}
	podSel := metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job}.String()}
	if list, err := e.Client.CoreV1().Pods(ns).List(ctx, podSel); err == nil {
		return list.Items
	}
	return nil
}

// podRunsAContainer tells whether a pod that has not ended has a container (init,
// sidecar or main) running.
func podRunsAContainer(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
		for _, c := range list {
			if c.State.Running != nil {
				return true
			}
		}
	}
	return false
}

// waitPodsGone waits, at most livePodWait, until the Job has no pod left. It reads the
// shared pod watch when a run holds it, else lists; a pod still there after the wait is
// left to the Job's deletion, and its late objects to the garbage collector (they are
// owned by the Job).
func (e *Executor) waitPodsGone(ctx context.Context, ns, job string) {
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, livePodWait, true, func(ctx context.Context) (bool, error) {
		return len(e.podsOf(ctx, ns, job)) == 0, nil
	})
}
