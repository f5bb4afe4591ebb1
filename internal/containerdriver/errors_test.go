package containerdriver

import (
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A failed create is recorded in Terraform's state exactly when the runner may have
// changed something: a silent runner stopped by a timeout counts (issue 9, defect 4).
func TestRunError_RunnerStarted(t *testing.T) {
	exit := int32(3)
	for _, tt := range []struct {
		e    RunError
		want bool
	}{
		{RunError{Container: "runner", Reason: "Error", ExitCode: &exit}, true},
		{RunError{Container: "runner", Reason: ReasonInvalidOutputs}, true},
		{RunError{Container: "outputs-fetcher", Reason: ReasonOutputsMissing}, true},
		{RunError{Container: "runner", Reason: "ErrImagePull", Runner: &RunnerStatus{State: "waiting", Reason: "ErrImagePull"}}, false},
		{RunError{Container: "pre-checks", Reason: "Error", ExitCode: &exit, Runner: &RunnerStatus{State: "waiting", Reason: "PodInitializing"}}, false},
		{RunError{Container: "git-init", Reason: "Error", ExitCode: &exit}, false},
		{RunError{Reason: "Unschedulable"}, false},
		{RunError{Reason: ReasonTimeout, Logs: map[string]string{"runner": "applying...\n"}}, true},
		// A runner that printed nothing before the timeout stopped it.
		{RunError{Reason: ReasonTimeout, Runner: &RunnerStatus{State: "terminated", Reason: "Error", ExitCode: 143}}, true},
		{RunError{Reason: ReasonInterrupted, Runner: &RunnerStatus{State: "running"}}, true},
		{RunError{Reason: ReasonPodDeleted, Runner: &RunnerStatus{State: "terminated", ExitCode: 137}}, true},
	} {
		if got := tt.e.RunnerStarted(); got != tt.want {
			t.Errorf("RunnerStarted(%s) = %v, want %v", tt.e.Error(), got, tt.want)
		}
	}
}

// A failure points at the attribute to change when one is its likely cause.
func TestRunError_Path(t *testing.T) {
	for _, tt := range []struct {
		e      RunError
		action string
		want   string
	}{
		{RunError{Container: contract.ContainerRunner, Reason: ReasonErrImagePull}, contract.ActionCreate, "job.image"},
		{RunError{Container: contract.ContainerRunner, Reason: ReasonInvalidImageName}, contract.ActionDestroy, "job.image"},
		{RunError{Container: contract.ContainerPreChecks, Reason: ReasonErrImagePull}, contract.ActionCreate, ""}, // the sidecar image
		{RunError{Reason: ReasonDeadlineExceeded}, contract.ActionDestroy, "timeouts.delete"},
		{RunError{Reason: ReasonDeadlineExceeded}, contract.ActionCreate, "timeouts.create"},
		{RunError{Container: contract.ContainerRunner, Reason: "Error"}, contract.ActionCreate, ""},
	} {
		if got := tt.e.Path(tt.action).String(); got != tt.want {
			t.Errorf("%s on %s: path %q, want %q", tt.e.Error(), tt.action, got, tt.want)
		}
	}
}
