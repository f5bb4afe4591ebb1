package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// harvest reads what the run left: exit codes from the pod, outputs from the objects
// outputs-fetcher wrote. interpret judges them; a failure it finds gets the containers'
// log tails.
func (e *Executor) harvest(ctx context.Context, spec *RunSpec, pod *corev1.Pod, job jobKey, base RunError, red *redactor, tail *logRing) (*Result, error) {
	h, harvestErr := e.readHarvest(ctx, base.Namespace, base.JobName)
	res, re, withLogs := interpret(pod, h, harvestErr, spec, base, red)
	if re != nil {
		if withLogs {
			re.Logs = e.logTails(ctx, base.Namespace, job, red, tail)
		}
		return nil, re
	}
	e.event("run %s of Job %s/%s succeeded: %d outputs, %d secret outputs", base.Action, base.Namespace, base.JobName, len(res.Outputs), len(res.SecretOutputs))
	return res, nil
}

// interpret turns an ended pod and what outputs-fetcher stored (h, or the error reading
// it) into the run's Result or RunError, without side effects. withLogs tells whether the
// RunError should carry the containers' log tails.
func interpret(pod *corev1.Pod, h *outputs.Harvest, harvestErr error, spec *RunSpec, base RunError, red *redactor) (res *Result, re *RunError, withLogs bool) {
	ns, name := base.Namespace, base.JobName
	res = &Result{JobName: name, Namespace: ns}
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
	fail := func(container, reason, message string) *RunError {
		re := base
		re.Runner = runnerPtr(res.Runner, red)
		re.Container, re.Reason, re.Message = container, reason, message
		return &re
	}
	// A sidecar that refused this provider's contract version before it started
	// (contract.ContractMismatch) names the fix in its termination message.
	if refused := contractRefusal(pod); refused != nil {
		re := fail(refused.Name, ReasonContractMismatch, red.mask(strings.TrimSpace(refusedMessage(refused))))
		re.ExitCode = ptr.To(int32(contract.ExitContractMismatch))
		return nil, re, true
	}
	if h != nil && h.ContractVersion != contract.Version {
		v := h.ContractVersion
		if v == "" {
			v = "1" // outputs-fetcher wrote its version from version 2 on
		}
		return nil, fail(contract.ContainerOutputsFetcher, ReasonContractMismatch, fmt.Sprintf(
			"the sidecar image's outputs-fetcher speaks version %s of the sidecar contract, this provider version %s, "+
				"so its outputs cannot be read safely: set the provider's sidecar_image (or CONTAINERDRIVER_SIDECAR_IMAGE, or the runner's "+
				"sidecar_image) to the sidecar image released with this provider version", v, contract.Version)), false
	}
	res.GitCommit = gitInitCommit(pod)
	if h != nil {
		res.StateBytes = h.StateBytes
	}

	// Which container failed first decides the error: an init container, else the runner.
	if failed := firstFailure(pod); failed != nil || pod.Status.Phase == corev1.PodFailed {
		re := fail("", pod.Status.Reason, pod.Status.Message)
		if failed != nil {
			t := failed.State.Terminated
			re.Container, re.Reason, re.ExitCode = failed.Name, t.Reason, ptr.To(t.ExitCode)
			re.Message = red.mask(strings.TrimSpace(t.Message))
		}
		if h != nil {
			re.ErrorFile = red.mask(h.ErrorText)
			// The termination message is the log tail (FallbackToLogsOnError); with an
			// error file, it only repeats the log section.
			if re.ErrorFile != "" && failed != nil && failed.Name == contract.ContainerRunner {
				re.Message = ""
			}
			// A refused file (ERROR_FILE a link, say) must not go unnoticed in a failure.
			if len(h.Problems) > 0 {
				re.Message = strings.TrimPrefix(re.Message+"; "+InvalidOutputsMessage+": "+red.mask(strings.Join(h.Problems, "; ")), "; ")
				re.Problems = outputProblems(red.maskAll(h.Problems))
			}
		}
		return nil, re, true
	}
	if runnerTerm != nil {
		res.ExitCode = runnerTerm.ExitCode
	}
	switch {
	case harvestErr != nil:
		return nil, fail(contract.ContainerOutputsFetcher, ReasonOutputsMissing, harvestErr.Error()), true
	case h.StateError != "":
		return nil, fail(contract.ContainerOutputsFetcher, ReasonStateNotSaved, h.StateError), true
	case len(h.Problems) > 0:
		re := fail(contract.ContainerRunner, ReasonInvalidOutputs,
			InvalidOutputsMessage+": "+strings.Join(h.Problems, "; "))
		re.Problems = outputProblems(h.Problems)
		re.ErrorFile = red.mask(h.ErrorText)
		return nil, re, true
	}
	var err error
	if res.Outputs, err = parseOrEmpty(contract.EnvOutputsFile, h.Outputs); err != nil {
		return nil, runnerFailure(base, res, red, ReasonInvalidOutputs, err), false
	}
	if res.SecretOutputs, err = parseOrEmpty(contract.EnvSecretOutputsFile, h.SecretOutputs); err != nil {
		return nil, runnerFailure(base, res, red, ReasonInvalidOutputs, err), false
	}
	if spec.ManifestsOutput != "" {
		if res.Manifests, err = manifests(spec.ManifestsOutput, res.Outputs, res.SecretOutputs); err != nil {
			return nil, runnerFailure(base, res, red, ReasonInvalidManifests, err), false
		}
	}
	// runner_status is stored in plain state: masked, secret outputs included.
	res.Runner.Message = red.withSecretOutputs(res.SecretOutputs).mask(res.Runner.Message)
	return res, nil, false
}

// gitInitCommit is the commit git-init checked out, from its termination message: the
// kubelet reads it from a file only git-init's container can write, where the runner
// cannot reach it. (The commit file in the shared directory is the runner's to read, and
// to rewrite: it is never read back.) Empty when git-init did not run or did not succeed,
// or is of a sidecar image older than this contract.
func gitInitCommit(pod *corev1.Pod) string {
	for _, cs := range pod.Status.InitContainerStatuses {
		t := cs.State.Terminated
		if cs.Name != contract.ContainerGitInit || t == nil || t.ExitCode != 0 {
			continue
		}
		for _, line := range strings.Split(t.Message, "\n") {
			if c, ok := strings.CutPrefix(strings.TrimSpace(line), contract.GitCommitMessagePrefix); ok && commitRe.MatchString(c) {
				return c
			}
		}
	}
	return ""
}

// commitRe is a SHA-1 or SHA-256 commit id.
var commitRe = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

// InvalidOutputsMessage starts the message of a ReasonInvalidOutputs RunError whose
// outputs-fetcher found problems; they follow after ": ", separated by "; ".
const InvalidOutputsMessage = "the runner's files break the contract (OUTPUTS_FILE and SECRET_OUTPUTS_FILE hold one JSON object each; every file the driver reads is a regular file in the shared directory)"

// runnerFailure is a RunError of the runner's outputs: only where and why, no more of base.
func runnerFailure(base RunError, res *Result, red *redactor, reason string, err error) *RunError {
	return &RunError{Namespace: base.Namespace, JobName: base.JobName, Action: base.Action, Container: contract.ContainerRunner,
		Runner: runnerPtr(res.Runner, red), Reason: reason, Message: err.Error()}
}

func runnerPtr(st RunnerStatus, red *redactor) *RunnerStatus {
	if st.State == "" {
		return nil
	}
	st.Message = red.mask(st.Message)
	return &st
}

// outputsSelector selects the ConfigMaps (or Secrets) outputs-fetcher stored for a Job.
func outputsSelector(job string, secret bool) string {
	role := contract.RoleOutputs
	if secret {
		role = contract.RoleSecretOutputs
	}
	return labels.Set{contract.LabelJob: job, contract.LabelRole: role}.String()
}

func runnerStatus(cs corev1.ContainerStatus) RunnerStatus {
	st := RunnerStatus{Image: cs.Image, ImageID: cs.ImageID}
	switch {
	case cs.State.Terminated != nil:
		t := cs.State.Terminated
		st.State, st.Reason, st.Message, st.ExitCode = "terminated", t.Reason, t.Message, t.ExitCode
	case cs.State.Running != nil:
		st.State = "running"
	case cs.State.Waiting != nil:
		st.State, st.Reason, st.Message = "waiting", cs.State.Waiting.Reason, cs.State.Waiting.Message
	}
	return st
}

func parseOrEmpty(file string, b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return map[string]any{}, nil
	}
	return outputs.ParseObject(file, b)
}

// manifests is the manifests_output property of the outputs, followed by that of the
// secret outputs, as the contract says (docs/guides/contract.md).
func manifests(prop string, out, secret map[string]any) ([]any, error) {
	list := []any{}
	for _, src := range []struct {
		file string
		m    map[string]any
	}{{contract.EnvOutputsFile, out}, {contract.EnvSecretOutputsFile, secret}} {
		v, ok := src.m[prop]
		if !ok || v == nil {
			continue
		}
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("manifests_output %q in %s is not a list of manifest locations", prop, src.file)
		}
		list = append(list, l...)
	}
	return list, nil
}

// firstFailure is the first container, in start order, that ended with a non-zero code.
func firstFailure(pod *corev1.Pod) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.Name == contract.ContainerOutputsFetcher {
				continue // a sidecar killed at the end is not a failure of the run
			}
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				return cs
			}
		}
	}
	return nil
}

// contractRefusal is the first driver container that exited with
// contract.ExitContractMismatch, now or in its last run (outputs-fetcher, a native sidecar,
// is restarted after it exits), or nil.
func contractRefusal(pod *corev1.Pod) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.Name == contract.ContainerRunner {
				continue // the runner's exit codes are its own
			}
			for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
				if t != nil && t.ExitCode == contract.ExitContractMismatch {
					return cs
				}
			}
		}
	}
	return nil
}

// refusedMessage is the termination message of a container contractRefusal found.
func refusedMessage(cs *corev1.ContainerStatus) string {
	for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
		if t != nil && t.ExitCode == contract.ExitContractMismatch {
			return t.Message
		}
	}
	return ""
}

func allStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

func describeState(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated (%s, exit code %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	case s.Waiting != nil:
		return "waiting (" + s.Waiting.Reason + ")"
	}
	return "unknown"
}
