package containerdriver

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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
	// Pods go with the Job in the background; delete them now so the namespace is empty
	// when Run returns. The namespace's shared pod watch, when a run holds it, knows them
	// without a request.
	pods, ok := e.watchedPods(ns, job)
	if !ok {
		podSel := metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job}.String()}
		if list, err := e.Client.CoreV1().Pods(ns).List(ctx, podSel); err == nil {
			pods = list.Items
		}
	}
	for _, o := range pods {
		if err := e.Client.CoreV1().Pods(ns).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
