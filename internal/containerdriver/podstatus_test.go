package containerdriver

import (
	"slices"
	"strings"
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

func terminated(name string, code int32, msg string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: "Error", Message: msg}}}
}

func TestRunnerStatus(t *testing.T) {
	for _, tt := range []struct {
		name string
		cs   corev1.ContainerStatus
		want RunnerStatus
	}{
		{"terminated", corev1.ContainerStatus{Image: "img:1", ImageID: "img@sha256:1", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: "m"}}},
			RunnerStatus{State: "terminated", Reason: "Error", Message: "m", ExitCode: 3, Image: "img:1", ImageID: "img@sha256:1"}},
		{"running", corev1.ContainerStatus{Image: "img:1", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}, RunnerStatus{State: "running", Image: "img:1"}},
		{"waiting", corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "pull"}}},
			RunnerStatus{State: "waiting", Reason: "ErrImagePull", Message: "pull"}},
		{"nothing yet", corev1.ContainerStatus{Image: "img:1"}, RunnerStatus{Image: "img:1"}},
	} {
		if got := runnerStatus(tt.cs); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRunnerOf_Masked(t *testing.T) {
	red := newRedactorOf([]string{"hunter22"})
	pod := &corev1.Pod{Status: corev1.PodStatus{
		InitContainerStatuses: []corev1.ContainerStatus{terminated(contract.ContainerPreChecks, 0, "")},
		ContainerStatuses:     []corev1.ContainerStatus{terminated(contract.ContainerRunner, 1, "login hunter22 refused")},
	}}
	got := runnerOf(pod, red)
	if got == nil || got.State != "terminated" || got.ExitCode != 1 || got.Message != "login "+MaskedText+" refused" {
		t.Errorf("runnerOf = %+v", got)
	}
	if runnerOf(nil, red) != nil || runnerOf(&corev1.Pod{Status: corev1.PodStatus{InitContainerStatuses: pod.Status.InitContainerStatuses}}, red) != nil {
		t.Error("a status without a pod or without a runner status")
	}
	if p := runnerPtr(RunnerStatus{State: "waiting", Message: "key hunter22"}, red); p == nil || p.Message != "key "+MaskedText {
		t.Errorf("runnerPtr = %+v", p)
	}
	if runnerPtr(RunnerStatus{Message: "x"}, red) != nil {
		t.Error("runnerPtr of no state is not nil")
	}
}

func TestParseOrEmptyAndManifests(t *testing.T) {
	if m, err := parseOrEmpty("OUTPUTS_FILE", nil); err != nil || m == nil || len(m) != 0 {
		t.Errorf("no file: %v %v, want an empty object", m, err)
	}
	if m, err := parseOrEmpty("OUTPUTS_FILE", []byte(`{"a":1}`)); err != nil || len(m) != 1 {
		t.Errorf("an object: %v %v", m, err)
	}
	if _, err := parseOrEmpty("OUTPUTS_FILE", []byte(`[1]`)); err == nil {
		t.Error("a list is not an object")
	}

	out := map[string]any{"m": []any{"a.yaml", "b.yaml"}}
	secret := map[string]any{"m": []any{"c.yaml"}}
	for _, tt := range []struct {
		name        string
		out, secret map[string]any
		want        []any
		err         string
	}{
		{name: "both, outputs first", out: out, secret: secret, want: []any{"a.yaml", "b.yaml", "c.yaml"}},
		{name: "none", out: map[string]any{}, secret: map[string]any{"m": nil}, want: []any{}},
		{name: "not a list", out: map[string]any{}, secret: map[string]any{"m": "a.yaml"}, err: contract.EnvSecretOutputsFile},
	} {
		got, err := manifests("m", tt.out, tt.secret)
		switch {
		case tt.err != "":
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), `"m"`) {
				t.Errorf("%s: error %v, want one naming the property and %s", tt.name, err, tt.err)
			}
		case err != nil || !slices.Equal(got, tt.want) || got == nil:
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
}

func TestFirstFailureAndContractRefusal(t *testing.T) {
	refusal := terminated(contract.ContainerOutputsFetcher, 0, "")
	refusal.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: contract.ExitContractMismatch, Message: "contract 9"}
	for _, tt := range []struct {
		name          string
		init, main    []corev1.ContainerStatus
		first, refuse string
	}{
		{name: "all well", init: []corev1.ContainerStatus{terminated(contract.ContainerPreChecks, 0, "")}, main: []corev1.ContainerStatus{terminated(contract.ContainerRunner, 0, "")}},
		{name: "an init container first", init: []corev1.ContainerStatus{terminated(contract.ContainerGitInit, 2, "")}, main: []corev1.ContainerStatus{terminated(contract.ContainerRunner, 1, "")},
			first: contract.ContainerGitInit},
		{name: "outputs-fetcher killed at the end", init: []corev1.ContainerStatus{terminated(contract.ContainerOutputsFetcher, 137, "")}, main: []corev1.ContainerStatus{terminated(contract.ContainerRunner, 0, "")}},
		{name: "the runner", main: []corev1.ContainerStatus{terminated(contract.ContainerRunner, 1, "")}, first: contract.ContainerRunner},
		{name: "the runner exits with the refusal code", main: []corev1.ContainerStatus{terminated(contract.ContainerRunner, contract.ExitContractMismatch, "")}, first: contract.ContainerRunner},
		{name: "a sidecar refused", init: []corev1.ContainerStatus{terminated(contract.ContainerPreChecks, contract.ExitContractMismatch, "contract 9")},
			first: contract.ContainerPreChecks, refuse: contract.ContainerPreChecks},
		{name: "outputs-fetcher refused in its last run", init: []corev1.ContainerStatus{refusal}, refuse: contract.ContainerOutputsFetcher},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Status: corev1.PodStatus{InitContainerStatuses: tt.init, ContainerStatuses: tt.main}}
			name := func(cs *corev1.ContainerStatus) string {
				if cs == nil {
					return ""
				}
				return cs.Name
			}
			if got := name(firstFailure(pod)); got != tt.first {
				t.Errorf("firstFailure = %q, want %q", got, tt.first)
			}
			cs := contractRefusal(pod)
			if got := name(cs); got != tt.refuse {
				t.Fatalf("contractRefusal = %q, want %q", got, tt.refuse)
			}
			if cs != nil && refusedMessage(cs) != "contract 9" {
				t.Errorf("refusedMessage = %q", refusedMessage(cs))
			}
		})
	}
}

func TestDescribeState(t *testing.T) {
	for _, tt := range []struct {
		s    corev1.ContainerState
		want string
	}{
		{corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, "running"},
		{corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}, "terminated (OOMKilled, exit code 137)"},
		{corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}, "waiting (ImagePullBackOff)"},
		{corev1.ContainerState{}, "unknown"},
	} {
		if got := describeState(tt.s); got != tt.want {
			t.Errorf("describeState = %q, want %q", got, tt.want)
		}
	}
}
