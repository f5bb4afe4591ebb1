package containerdriver

import (
	"context"
	"errors"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A run's Job is created running, not suspended, and the Secrets and ConfigMaps its pod
// reads right after it, owned by it (issue 21: no resume request, and the Job's controller
// makes the pod while the inputs are made). What keeps the pod from starting anything
// before its inputs exist is the kubelet: it starts no container of a pod, init containers
// included, before every volume a container of the pod mounts is mounted
// (volumemanager.WaitForAttachAndMount, polled every 300 ms), and a Secret volume whose
// Secret does not exist fails to mount and is retried (500 ms, doubling, at most about
// 2 minutes). So one Secret mounted as a volume, the gate, is created last: until it
// exists nothing of the pod runs, and once it exists every other input exists too (a
// container whose environment names a Secret that is missing would fail with
// CreateContainerConfigError, which the run treats as final).

// ReasonInputsMissing: a Job of the run exists and its pod started, but the Secrets it
// read are gone, so it cannot be told whether it ran with this run's secret values. It is
// neither re-attached to nor run again.
const ReasonInputsMissing = "InputsMissing"

// inputsGate is the Secret of b that every container of the pod waits for: a Secret
// volume, not optional, that a container mounts. BuildJob always has one, the inputs
// Secret (the runner mounts it, and a pod template may not override it); nil means b has
// none, and its Job is created suspended and resumed once its inputs exist, as before.
func inputsGate(b *JobObjects) *corev1.Secret {
	spec := b.Job.Spec.Template.Spec
	mounted := map[string]bool{}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		for _, m := range c.VolumeMounts {
			mounted[m.Name] = true
		}
	}
	for _, s := range b.Secrets {
		for _, v := range spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == s.Name && !ptr.Deref(v.Secret.Optional, false) && mounted[v.Name] {
				return s
			}
		}
	}
	return nil
}

// containerStarted tells whether any container of the pod (init, sidecar or main) has
// started, now or before: running, ended after a start, or restarted. A container the
// kubelet never started but reports terminated because its pod was deleted or failed
// (ContainerStatusUnknown, exit code 137) has no start time: it does not count.
func containerStarted(p *corev1.Pod) bool {
	ranOnce := func(t *corev1.ContainerStateTerminated) bool { return t != nil && !t.StartedAt.IsZero() }
	for _, cs := range allStatuses(p) {
		if cs.State.Running != nil || ranOnce(cs.State.Terminated) || ranOnce(cs.LastTerminationState.Terminated) ||
			cs.RestartCount > 0 || ptr.Deref(cs.Started, false) {
			return true
		}
	}
	return false
}

// inputsUnread tells whether an existing Job of b's name cannot have read its inputs, so
// replacing it (or making its inputs with other values) cannot run anything twice:
//   - a suspended Job (made by a version before this one, whose creator died before
//     resuming it) has no pod;
//   - a Job whose gate Secret does not exist, and none of whose pods has started a
//     container: its creator died between the Job and its inputs (the gate is made last),
//     and the kubelet starts nothing of the pod without it.
//
// The pods are read from the API, not the shared watch: a pod that started must not be
// missed because the watch is behind.
func (e *Executor) inputsUnread(ctx context.Context, b *JobObjects, job *batchv1.Job) (bool, error) {
	if ptr.Deref(job.Spec.Suspend, false) {
		return true, nil
	}
	gate := inputsGate(b)
	if gate == nil {
		return false, nil
	}
	if _, err := e.Client.CoreV1().Secrets(gate.Namespace).Get(ctx, gate.Name, metav1.GetOptions{}); err == nil {
		return false, nil
	} else if !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("read secret %s/%s of the existing job: %w", gate.Namespace, gate.Name, err)
	}
	pods, err := e.Client.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job.Name}.String()})
	if err != nil {
		return false, fmt.Errorf("list the pods of job %s/%s: %w", job.Namespace, job.Name, err)
	}
	for i := range pods.Items {
		if containerStarted(&pods.Items[i]) {
			return false, nil
		}
	}
	return true, nil
}

// removeUnstarted deletes a Job none of whose containers started, waits until it and its
// pod are gone (foreground deletion: the Job goes only after the pod its controller made),
// then deletes what was made for it. Nothing of it is left when it returns.
func (e *Executor) removeUnstarted(ctx context.Context, ns, name string) error {
	var errs []error
	err := e.Client.BatchV1().Jobs(ns).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	switch {
	case err == nil:
		errs = append(errs, e.waitGone(ctx, ns, name))
	case !apierrors.IsNotFound(err):
		errs = append(errs, err)
	}
	return errors.Join(append(errs, e.Cleanup(ctx, ns, name))...)
}

// inputsMissingError refuses a Job of b's name whose pod started and whose input Secrets
// are gone (deleted by hand, or by a cleanup that could not delete the Job).
func inputsMissingError(b *JobObjects) error {
	ns, name := b.Job.Namespace, b.Job.Name
	return newRunError(RunError{Namespace: ns, JobName: name, Action: b.Job.Labels[contract.LabelAction]}, &Failure{Outcome: OutcomeNotRun, Reason: ReasonInputsMissing, Message: fmt.Sprintf(
		"Job %s/%s of this run exists and its pod has started, but Secrets it reads are gone, so it cannot be told whether it ran "+
			"with this configuration's secret values: it was neither re-attached to nor started again (a run never runs twice). "+
			"See what it did (kubectl -n %s logs job/%s --all-containers), delete it (kubectl -n %s delete job %s), then apply again to run anew.",
		ns, name, ns, name, ns, name)}, nil)
}
