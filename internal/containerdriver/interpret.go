package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// The interpreter: pure functions from what the cluster reports (the pod and its
// container statuses, the Job and its events, termination messages, what outputs-fetcher
// stored) to a Result or a Failure (failure.go). Nothing here reads the cluster, logs or
// the clock: the watch (watch.go), the stop (stop.go) and the harvest (harvest.go) do, and
// hand over what they saw.

// interpret turns an ended pod and what outputs-fetcher stored (h, or the error reading
// it) into the run's Result or Failure.
func interpret(pod *corev1.Pod, h *outputs.Harvest, harvestErr error, spec *RunSpec, red *redactor) (*Result, *Failure) {
	res := &Result{}
	var runnerTerm *corev1.ContainerStateTerminated
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == contract.ContainerRunner {
			res.Image, res.ImageID = cs.Image, cs.ImageID
			runnerTerm = cs.State.Terminated
			res.Runner = runnerStatus(cs)
			res.Runner.Message = red.mask(res.Runner.Message)
		}
	}
	if h == nil && harvestErr == nil {
		harvestErr = errors.New("outputs-fetcher stored no outputs (see its log)")
	}
	fail := func(outcome Outcome, container, reason, message string, withLogs bool) *Failure {
		return &Failure{Outcome: outcome, Runner: runnerPtr(res.Runner, red), Container: container, Reason: reason, Message: message, WithLogs: withLogs}
	}
	// A sidecar that refused this provider's contract version before it started
	// (contract.ContractMismatch) names the fix in its termination message.
	if f := refusal(pod, red); f != nil {
		f.Runner, f.WithLogs = runnerPtr(res.Runner, red), true
		return nil, f
	}
	if h != nil && h.ContractVersion != contract.Version {
		v := h.ContractVersion
		if v == "" {
			v = "1" // outputs-fetcher wrote its version from version 2 on
		}
		return nil, fail(OutcomeOutputsRejected, contract.ContainerOutputsFetcher, ReasonContractMismatch, fmt.Sprintf(
			"the sidecar image's outputs-fetcher speaks version %s of the sidecar contract, this provider version %s, "+
				"so its outputs cannot be read safely: set the provider's sidecar_image (or CONTAINERDRIVER_SIDECAR_IMAGE, or the runner's "+
				"sidecar_image) to the sidecar image released with this provider version", v, contract.Version), false)
	}
	res.GitCommit = gitInitCommit(pod)
	if h != nil {
		res.StateBytes = h.StateBytes
	}

	// Which container failed first decides the error: an init container, else the runner.
	if failed := firstFailure(pod); failed != nil || pod.Status.Phase == corev1.PodFailed {
		f := fail(OutcomeFailed, "", pod.Status.Reason, pod.Status.Message, true)
		if failed != nil {
			t := failed.State.Terminated
			f.Container, f.Reason, f.ExitCode = failed.Name, t.Reason, ptr.To(t.ExitCode)
			f.Message = red.mask(strings.TrimSpace(t.Message))
		}
		if h != nil {
			f.ErrorFile = red.mask(h.ErrorText)
			// The termination message is the log tail (FallbackToLogsOnError); with an
			// error file, it only repeats the log section.
			if f.ErrorFile != "" && failed != nil && failed.Name == contract.ContainerRunner {
				f.Message = ""
			}
			// A refused file (ERROR_FILE a link, say) must not go unnoticed in a failure.
			if len(h.Problems) > 0 {
				f.Message = strings.TrimPrefix(f.Message+"; "+InvalidOutputsMessage+": "+red.mask(strings.Join(h.Problems, "; ")), "; ")
				f.Problems = outputProblems(red.maskAll(h.Problems))
			}
		}
		return nil, f
	}
	if runnerTerm != nil {
		res.ExitCode = runnerTerm.ExitCode
	}
	switch {
	case harvestErr != nil:
		return nil, fail(OutcomeOutputsRejected, contract.ContainerOutputsFetcher, ReasonOutputsMissing, harvestErr.Error(), true)
	case h.StateError != "":
		return nil, fail(OutcomeOutputsRejected, contract.ContainerOutputsFetcher, ReasonStateNotSaved, h.StateError, true)
	case len(h.Problems) > 0:
		f := fail(OutcomeOutputsRejected, contract.ContainerRunner, ReasonInvalidOutputs,
			InvalidOutputsMessage+": "+strings.Join(h.Problems, "; "), true)
		f.Problems = outputProblems(h.Problems)
		f.ErrorFile = red.mask(h.ErrorText)
		return nil, f
	}
	var err error
	if res.Outputs, err = parseOrEmpty(contract.EnvOutputsFile, h.Outputs); err != nil {
		return nil, fail(OutcomeOutputsRejected, contract.ContainerRunner, ReasonInvalidOutputs, err.Error(), false)
	}
	if res.SecretOutputs, err = parseOrEmpty(contract.EnvSecretOutputsFile, h.SecretOutputs); err != nil {
		return nil, fail(OutcomeOutputsRejected, contract.ContainerRunner, ReasonInvalidOutputs, err.Error(), false)
	}
	if spec.ManifestsOutput != "" {
		if res.Manifests, err = manifests(spec.ManifestsOutput, res.Outputs, res.SecretOutputs); err != nil {
			return nil, fail(OutcomeOutputsRejected, contract.ContainerRunner, ReasonInvalidManifests, err.Error(), false)
		}
	}
	// runner_status is stored in plain state: masked, secret outputs included.
	res.Runner.Message = red.withSecretOutputs(res.SecretOutputs).mask(res.Runner.Message)
	return res, nil
}

// InvalidOutputsMessage starts the message of a ReasonInvalidOutputs RunError whose
// outputs-fetcher found problems; they follow after ": ", separated by "; ".
const InvalidOutputsMessage = "the runner's files break the contract (OUTPUTS_FILE and SECRET_OUTPUTS_FILE hold one JSON object each; every file the driver reads is a regular file in the shared directory)"

// refusal is the Failure of a pod one of whose sidecars refused this provider's contract
// version (contract.ExitContractMismatch), or nil. Its termination message names the fix.
func refusal(pod *corev1.Pod, red *redactor) *Failure {
	refused := contractRefusal(pod)
	if refused == nil {
		return nil
	}
	return &Failure{Outcome: OutcomeFailed, Container: refused.Name, Reason: ReasonContractMismatch,
		Message: red.mask(strings.TrimSpace(refusedMessage(refused))), ExitCode: ptr.To(int32(contract.ExitContractMismatch))}
}

// waitingFailure is the Failure of a container the kubelet holds in Waiting for a reason
// that will not recover.
func waitingFailure(container string, wt *corev1.ContainerStateWaiting, red *redactor) *Failure {
	return &Failure{Outcome: OutcomeFailed, Container: container, Reason: wt.Reason, Message: red.mask(wt.Message)}
}

// deletedPodFailure is the Failure of a run whose pod (last, nil when never seen) was
// deleted before the run finished: by a person, an eviction, a node drain or the loss of
// its node.
func deletedPodFailure(last *corev1.Pod) *Failure {
	name, why := "", ""
	if last != nil {
		name = " " + last.Name
		for _, c := range last.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
				why = fmt.Sprintf(" (%s: %s)", c.Reason, c.Message)
			}
		}
		if why == "" && last.Status.Reason != "" {
			why = fmt.Sprintf(" (%s: %s)", last.Status.Reason, last.Status.Message)
		}
	}
	return &Failure{Outcome: OutcomeStopped, Reason: ReasonPodDeleted, WithLogs: true, Message: fmt.Sprintf(
		"the run's pod%s was deleted before the run finished%s: by kubectl delete, an eviction, a node drain or the loss of its node; the runner was stopped", name, why)}
}

// stoppedFailure is the Failure of a run whose caller gave up (ctxErr): a timeout or an
// interrupt; stopped tells whether its pod was stopped (it may have been gone already).
func stoppedFailure(ctxErr error, stopped bool) *Failure {
	reason, what := stopWhy(ctxErr)
	f := &Failure{Outcome: OutcomeStopped, Reason: reason, WithLogs: true, Message: fmt.Sprintf("the run %s (%v)", what, ctxErr)}
	if stopped {
		f.Message += "; its pod was stopped gracefully (SIGTERM to the runner, then outputs-fetcher)"
	}
	return f
}

// stopWhy is the reason of a run stopped because its caller gave up (ctxErr), and what
// befell the run, in words.
func stopWhy(ctxErr error) (reason, what string) {
	if errors.Is(ctxErr, context.DeadlineExceeded) {
		return ReasonTimeout, "timed out: it did not finish in time"
	}
	return ReasonInterrupted, "was interrupted before it finished"
}

// noteState adds to a stopped run's Failure whether its state directory was saved, as
// outputs-fetcher recorded it with the outputs (h, or the error reading them).
func (f *Failure) noteState(spec *RunSpec, h *outputs.Harvest, err error) {
	if spec.State == nil {
		return
	}
	switch {
	case err != nil || h == nil:
		f.Message += "; whether its state directory was saved is unknown (outputs-fetcher stored nothing): the last saved state is kept"
	case h.StateError != "":
		f.StateSaved = ptr.To(false)
		f.Message += "; its state directory was NOT saved (" + h.StateError + "): the previously saved state is kept"
	default:
		f.StateSaved = ptr.To(true)
		f.Message += fmt.Sprintf("; its state directory was saved (%d bytes)", h.StateBytes)
	}
}

// unschedulableCondition is the pod's condition saying the scheduler cannot place it, or nil.
func unschedulableCondition(pod *corev1.Pod) *corev1.PodCondition {
	var unsched *corev1.PodCondition
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			unsched = &pod.Status.Conditions[i]
		}
	}
	return unsched
}

// unschedulableFailure is the Failure of a pod that stayed unschedulable for grace; msg is
// the scheduler's message.
func unschedulableFailure(grace time.Duration, msg string) *Failure {
	return &Failure{Outcome: OutcomeNotRun, Reason: ReasonUnschedulable, WithLogs: true,
		Message: fmt.Sprintf("the pod could not be scheduled for %s: %s", grace, msg)}
}

// jobEventFailure is the Failure an event of the Job uid reports, or nil: its pod could
// not be created (a ResourceQuota, Pod Security admission). Events of another Job of the
// same name (an earlier try) have another UID and are not this run's.
func jobEventFailure(ev *corev1.Event, uid types.UID) *Failure {
	if ev.Reason != ReasonFailedCreate || ev.InvolvedObject.Kind != "Job" || string(ev.InvolvedObject.UID) != string(uid) {
		return nil
	}
	return &Failure{Outcome: OutcomeNotRun, Reason: ReasonFailedCreate, WithLogs: true, Message: "the Job's pod could not be created: " + ev.Message}
}

// jobFailure is the Failure the run's Job reports (gone: it was deleted), or nil.
func jobFailure(j *batchv1.Job, gone bool) *Failure {
	if gone {
		return &Failure{Outcome: OutcomeStopped, Reason: ReasonJobDeleted, WithLogs: true, Message: "the Job was deleted while the run was in progress"}
	}
	for _, c := range j.Status.Conditions {
		// BackoffLimitExceeded follows a failed pod, which the pod watch reports with
		// more detail; only a deadline can fail a Job whose pod is still running.
		if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
			return &Failure{Outcome: OutcomeStopped, Reason: c.Reason, Message: c.Message, WithLogs: true}
		}
	}
	return nil
}
