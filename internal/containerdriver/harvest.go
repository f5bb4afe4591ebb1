package containerdriver

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// harvest reads what the run left: exit codes from the pod, outputs from the objects
// outputs-fetcher wrote. interpret judges them; a failure it finds gets the containers'
// log tails when they say more.
//
// pod is the version seen before the read. stored, when not nil, are the Job's outputs
// ConfigMaps as the shared watch held them when chunk 0 arrived (the run ended on its
// outputs: watch.go); else they are listed. What the read found is all the pod ever
// stores when every container of pod had ended, or when chunk 0 had arrived before the
// read (outputs-fetcher writes it last and then nothing more); seen (when not nil) then
// records it as complete with the objects' names: Cleanup deletes them by name instead of
// listing again.
func (e *Executor) harvest(ctx context.Context, spec *RunSpec, pod *corev1.Pod, job jobKey, base RunError, red *redactor, tail *logRing, seen *harvestedObjects, stored []corev1.ConfigMap) (*Result, error) {
	h, harvestErr := e.readHarvest(ctx, base.Namespace, base.JobName, seen, stored)
	if seen != nil {
		seen.complete = harvestErr == nil && (podFinished(pod) || stored != nil)
		seen.podMayRun = stored != nil && !podFinished(pod)
	}
	res, f := interpret(pod, h, harvestErr, spec, red)
	if f != nil {
		var logs map[string]string
		if f.WithLogs {
			logs = e.logTails(ctx, base.Namespace, job, red, tail)
		}
		return nil, newRunError(base, f, logs)
	}
	res.JobName, res.Namespace = base.JobName, base.Namespace
	e.event("run %s of Job %s/%s succeeded: %d outputs, %d secret outputs", base.Action, base.Namespace, base.JobName, len(res.Outputs), len(res.SecretOutputs))
	return res, nil
}

// readHarvest reads what outputs-fetcher stored for a Job; nil when it stored nothing.
// The outputs ConfigMaps are stored when not nil, else listed; the Secrets are always
// listed (their chunk count is in their own chunk 0, so reading them by name would take
// as many requests). The names of the objects read go into seen, when not nil.
func (e *Executor) readHarvest(ctx context.Context, ns, job string, seen *harvestedObjects, stored []corev1.ConfigMap) (*outputs.Harvest, error) {
	cms := stored
	if cms == nil {
		list, err := e.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: outputsSelector(job, false)})
		if err != nil {
			return nil, fmt.Errorf("read outputs of job %s/%s: %w", ns, job, err)
		}
		cms = list.Items
	}
	secrets, err := e.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: outputsSelector(job, true)})
	if err != nil {
		return nil, fmt.Errorf("read secret outputs of job %s/%s: %w", ns, job, err)
	}
	if seen != nil {
		for _, o := range cms {
			seen.configMaps = append(seen.configMaps, o.Name)
		}
		for _, o := range secrets.Items {
			seen.secrets = append(seen.secrets, o.Name)
		}
	}
	if len(cms) == 0 && len(secrets.Items) == 0 {
		return nil, nil
	}
	return outputs.Assemble(cms, secrets.Items)
}

// outputsSelector selects the ConfigMaps (or Secrets) outputs-fetcher stored for a Job.
func outputsSelector(job string, secret bool) string {
	role := contract.RoleOutputs
	if secret {
		role = contract.RoleSecretOutputs
	}
	return labels.Set{contract.LabelJob: job, contract.LabelRole: role}.String()
}

// harvestedObjects names the output objects (ConfigMaps and Secrets) a harvest read.
// complete: the read succeeded, and nothing of the Job's pod can have stored anything the
// read missed, because either the pod had ended (no container running, none to start)
// before the read, or the run ended on its outputs: chunk 0 of its outputs ConfigMap, which
// outputs-fetcher writes after every other object and after the state, had arrived before
// the read. podMayRun: the latter, with a pod not over yet (outputs-fetcher may still be
// exiting; it has nothing left to write).
type harvestedObjects struct {
	configMaps, secrets []string
	complete            bool
	podMayRun           bool
}

// podFinished reports whether no container of pod runs or can still run: it is over
// (podOver) and no status says running (a terminal phase can be set while a container is
// still being killed).
func podFinished(pod *corev1.Pod) bool {
	return pod != nil && podOver(pod) && !runningContainer(pod)
}

// runnerSucceeded reports whether pod's runner container has terminated with exit code 0.
func runnerSucceeded(pod *corev1.Pod) bool {
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == contract.ContainerRunner {
			return cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
		}
	}
	return false
}

// ownedByJob reports whether o belongs to job: its job label names it and, when the Job's
// UID is known, it is owned by that very Job (not by an earlier Job of the same name).
func ownedByJob(o metav1.Object, job jobKey) bool {
	if o.GetLabels()[contract.LabelJob] != job.Name {
		return false
	}
	if job.UID == "" {
		return true
	}
	for _, r := range o.GetOwnerReferences() {
		if r.Kind == "Job" && r.UID == job.UID {
			return true
		}
	}
	return false
}
