package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	return e.cleanup(ctx, ns, job, nil)
}

// knownObjects names every Secret and ConfigMap a Job's run made, when the run knows them
// all: cleanup then deletes them by name and lists nothing (issue 21: two requests fewer
// per run).
type knownObjects struct {
	secrets, configMaps []string
	// podMayRun: the run ended on its outputs, so its pod may still be running
	// outputs-fetcher, which has stored everything and writes nothing more.
	podMayRun bool
}

// knownObjectsOf is what a run made, or nil when it cannot know it all, so cleanup lists
// by the job label as before. It knows it all when:
//   - this call created the Job (fresh), so it made the inputs, b's Secrets and ConfigMaps
//     (a re-attached Job's inputs were made by another caller, maybe another version);
//   - the action is a create or a destroy (a plan's outputs-fetcher stores more objects,
//     which finishPlan reads, with the job label);
//   - the harvest's read was complete (seen.complete): the pod had ended, no container
//     running, before outputs-fetcher's objects were listed, so none was written after; or
//     the run ended on its outputs (watch.go outputsStored): chunk 0 of the outputs
//     ConfigMap, which outputs-fetcher writes after all else and which ends its writing,
//     had arrived before the read (seen.podMayRun when the pod had not ended yet).
//
// A pod the Job's controller started after that (none should: the Job's pod ended and its
// backoff limit is 0) is deleted by cleanup and waited for like any pod still running, and
// then cleanup lists as before. With podMayRun, a running pod is the run's own, whose
// outputs-fetcher has stored everything: the controller starts no other pod while that one
// has not failed, and its runner succeeded; it is deleted and not waited for. Whatever else would carry the job label is owned by the
// Job, and the garbage collector removes it with the Job.
func knownObjectsOf(b *JobObjects, fresh bool, action string, seen *harvestedObjects) *knownObjects {
	if !fresh || !seen.complete || (action != contract.ActionCreate && action != contract.ActionDestroy) {
		return nil
	}
	k := &knownObjects{secrets: append([]string{}, seen.secrets...), configMaps: append([]string{}, seen.configMaps...), podMayRun: seen.podMayRun}
	for _, s := range b.Secrets {
		k.secrets = append(k.secrets, s.Name)
	}
	for _, c := range b.ConfigMaps {
		k.configMaps = append(k.configMaps, c.Name)
	}
	return k
}

// cleanup is Cleanup, deleting the objects in known by name when known is not nil and no
// pod of the Job still ran a container, or the one running is known to write nothing more
// (known.podMayRun).
func (e *Executor) cleanup(ctx context.Context, ns, job string, known *knownObjects) error {
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
	//
	// A run that ended on its outputs left outputs-fetcher with nothing to write (its
	// runner ended, and it wrote chunk 0 of the outputs last): its pod is deleted at once,
	// like an ended pod, and not waited for, so nothing of the run is left in the API when
	// Run returns; the kubelet stops what still runs of it.
	quiet := known != nil && known.podMayRun
	pods := e.podsOf(ctx, ns, job)
	live := false
	var ended []corev1.Pod
	for _, o := range pods {
		if !podRunsAContainer(&o) || quiet {
			ended = append(ended, o)
			continue
		}
		live = true
		if err := e.Client.CoreV1().Pods(ns).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To(liveRunGrace)}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if live {
		e.waitPodsGone(ctx, ns, job)
	}
	if known != nil && !live {
		// Every object there is to delete is known (knownObjectsOf says why), and no pod
		// can still write one.
		errs = append(errs, e.deleteKnown(ctx, ns, job, "secrets", known.secrets,
			func(name string) error {
				return e.Client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{})
			},
			func(sel metav1.ListOptions) error {
				return e.Client.CoreV1().Secrets(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
			})...)
		errs = append(errs, e.deleteKnown(ctx, ns, job, "configmaps", known.configMaps,
			func(name string) error {
				return e.Client.CoreV1().ConfigMaps(ns).Delete(ctx, name, metav1.DeleteOptions{})
			},
			func(sel metav1.ListOptions) error {
				return e.Client.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
			})...)
		return errors.Join(append(errs, e.deleteEndedPods(ctx, ns, ended)...)...)
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
	if !live {
		errs = append(errs, e.deleteEndedPods(ctx, ns, pods)...)
	}
	return errors.Join(errs...)
}

// jobObjectsSelector selects the Secrets and ConfigMaps made for Job job: its inputs (the
// Job's labels, job.go) and what its outputs-fetcher stored (internal/outputs), both
// labelled with the Job's name (unique to its run, action and spec) and managed-by. A
// run's state (internal/statedir), its kept write-only secrets (internal/writeonly), plan
// previews and the claim key carry no job label, and another Job's objects carry its name.
func jobObjectsSelector(job string) metav1.ListOptions {
	return metav1.ListOptions{LabelSelector: labels.Set{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelJob: job}.String()}
}

// deleteKnown deletes the known objects of a kind (resource names it): in one
// deletecollection by jobObjectsSelector when there are two or more, else by name. When the
// API refuses deletecollection (an identity with the rights of releases before it, which
// did not ask for the verb), it deletes by name, and the process does not ask again in that
// namespace.
func (e *Executor) deleteKnown(ctx context.Context, ns, job, resource string, names []string,
	deleteOne func(string) error, deleteAll func(metav1.ListOptions) error,
) []error {
	key := collectionKey{sharedKey{client: e.Client, ns: ns}, resource}
	if len(names) >= 2 && !collectionRefused(key) {
		err := deleteAll(jobObjectsSelector(job))
		if err == nil {
			return nil
		}
		if !apierrors.IsForbidden(err) && !apierrors.IsMethodNotSupported(err) {
			return []error{err}
		}
		refuseCollection(key)
	}
	var errs []error
	for _, name := range names {
		if err := deleteOne(name); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errs
}

// collectionKey names a kind of object in a namespace, for a client.
type collectionKey struct {
	sharedKey
	resource string
}

// collectionsRefused remembers where the API refused deletecollection.
var collectionsRefused sync.Map // collectionKey -> bool

func collectionRefused(k collectionKey) bool { _, ok := collectionsRefused.Load(k); return ok }
func refuseCollection(k collectionKey)       { collectionsRefused.Store(k, true) }

// deleteEndedPods deletes the Job's ended pods at once. Pods go with the Job in the
// background; deleting them now leaves the namespace empty when Run returns.
func (e *Executor) deleteEndedPods(ctx context.Context, ns string, pods []corev1.Pod) []error {
	var errs []error
	for _, o := range pods {
		if err := e.Client.CoreV1().Pods(ns).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errs
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
	return p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && runningContainer(p)
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
