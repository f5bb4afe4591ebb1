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
// pod is the version seen before the read; when every container of it had ended, what
// the read found is all the pod ever stored, and seen (when not nil) records it as
// complete with the objects' names: Cleanup deletes them by name instead of listing again.
func (e *Executor) harvest(ctx context.Context, spec *RunSpec, pod *corev1.Pod, job jobKey, base RunError, red *redactor, tail *logRing, seen *harvestedObjects) (*Result, error) {
	h, harvestErr := e.readHarvest(ctx, base.Namespace, base.JobName, seen)
	if seen != nil {
		seen.complete = harvestErr == nil && podFinished(pod)
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
// The names of the objects read go into seen, when not nil.
func (e *Executor) readHarvest(ctx context.Context, ns, job string, seen *harvestedObjects) (*outputs.Harvest, error) {
	cms, err := e.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: outputsSelector(job, false)})
	if err != nil {
		return nil, fmt.Errorf("read outputs of job %s/%s: %w", ns, job, err)
	}
	secrets, err := e.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: outputsSelector(job, true)})
	if err != nil {
		return nil, fmt.Errorf("read secret outputs of job %s/%s: %w", ns, job, err)
	}
	if seen != nil {
		for _, o := range cms.Items {
			seen.configMaps = append(seen.configMaps, o.Name)
		}
		for _, o := range secrets.Items {
			seen.secrets = append(seen.secrets, o.Name)
		}
	}
	if len(cms.Items) == 0 && len(secrets.Items) == 0 {
		return nil, nil
	}
	return outputs.Assemble(cms.Items, secrets.Items)
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
// complete: the pod had ended (no container running, none to start) before the read, and
// the read succeeded, so nothing of the Job's pod can have stored anything the read missed.
type harvestedObjects struct {
	configMaps, secrets []string
	complete            bool
}

// podFinished reports whether no container of pod runs or can still run: it is over
// (podOver) and no status says running (a terminal phase can be set while a container is
// still being killed).
func podFinished(pod *corev1.Pod) bool {
	return pod != nil && podOver(pod) && !runningContainer(pod)
}
