package containerdriver

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// What the interpreter (interpret.go) reads from a pod's status and from the runner's
// output files: pure helpers, shared with the watch.

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

func runnerPtr(st RunnerStatus, red *redactor) *RunnerStatus {
	if st.State == "" {
		return nil
	}
	st.Message = red.mask(st.Message)
	return &st
}

// runnerOf is the runner container's last known status in pod (nil when the pod was
// never seen or has no runner status yet), its message masked.
func runnerOf(pod *corev1.Pod, red *redactor) *RunnerStatus {
	if pod == nil {
		return nil
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == contract.ContainerRunner {
			st := runnerStatus(cs)
			st.Message = red.mask(st.Message)
			return &st
		}
	}
	return nil
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

// podOver reports whether the pod will not change any more in a way that matters: a
// terminal phase, or every container (the native sidecar included) has ended, which the
// kubelet reports a few seconds before the phase.
func podOver(pod *corev1.Pod) bool {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return true
	}
	if len(pod.Status.ContainerStatuses) == 0 {
		return false
	}
	for _, cs := range allStatuses(pod) {
		if cs.State.Terminated == nil {
			return false
		}
	}
	return true
}

// runningContainer tells whether a container of the pod (init, native sidecar or main) is
// running.
func runningContainer(pod *corev1.Pod) bool {
	for _, cs := range allStatuses(pod) {
		if cs.State.Running != nil {
			return true
		}
	}
	return false
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
