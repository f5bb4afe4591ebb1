package containerdriver

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The commit comes from git-init's termination message, which only git-init can write;
// anything else (a failed git-init, another container, a line that is not a commit) gives
// none.
func TestGitInitCommit(t *testing.T) {
	commit := "0123456789abcdef0123456789abcdef01234567"
	status := func(name string, code int32, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Message: msg}}}
	}
	for _, c := range []struct {
		name   string
		init   []corev1.ContainerStatus
		runner corev1.ContainerStatus
		want   string
	}{
		{name: "git-init's message", init: []corev1.ContainerStatus{status(contract.ContainerGitInit, 0, contract.GitCommitMessage(commit))}, want: commit},
		{name: "git-init failed", init: []corev1.ContainerStatus{status(contract.ContainerGitInit, 1, contract.GitCommitMessage(commit))}},
		{name: "not a commit", init: []corev1.ContainerStatus{status(contract.ContainerGitInit, 0, "commit=main\n")}},
		{name: "the runner's message", runner: status(contract.ContainerRunner, 0, contract.GitCommitMessage(commit))},
		{name: "old sidecar image", init: []corev1.ContainerStatus{status(contract.ContainerGitInit, 0, "")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{Status: corev1.PodStatus{InitContainerStatuses: c.init, ContainerStatuses: []corev1.ContainerStatus{c.runner}}}
			if got := gitInitCommit(pod); got != c.want {
				t.Errorf("gitInitCommit = %q, want %q", got, c.want)
			}
		})
	}
}
