package containerdriver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// RunError is a run that did not succeed. It carries everything a user needs to act:
// where the Job is, what state stopped it, the runner's error file and the last lines
// of every container's log.
type RunError struct {
	Namespace string
	JobName   string
	Action    string
	// Outcome says what ended the run (failure.go).
	Outcome Outcome
	// Container is the container that failed (runner, pre-checks, git-init, outputs-fetcher),
	// or empty when the pod never ran (for example it could not be scheduled).
	Container string
	// Reason is a short CamelCase cause: Error, OOMKilled, ErrImagePull, Unschedulable,
	// CreateContainerConfigError, DeadlineExceeded, InvalidOutputs... (the constants are
	// in failure.go).
	Reason  string
	Message string
	// ExitCode of Container; nil when it did not terminate.
	ExitCode *int32
	// ErrorFile is the text the runner (or an init container) wrote to ERROR_FILE.
	ErrorFile string
	// Logs holds the last lines of each container's log.
	Logs map[string]string
	// Kept reports that the Job and its objects were left in the cluster.
	Kept bool
	// Runner is the runner container's last known status; nil when the pod was never seen.
	Runner *RunnerStatus
	// StateSaved tells, for a run with a state directory that was stopped, whether
	// outputs-fetcher saved the state: nil when unknown or not applicable.
	StateSaved *bool
	// Problems are outputs-fetcher's findings about the runner's output files, typed
	// (failure.go); Message holds them as text too.
	Problems []OutputProblem
}

// newRunError is the one place a run's Failure becomes the RunError its caller gets: at
// names the Job (Namespace, JobName, Action; nothing else of it is read), logs are the
// containers' log tails (nil for none).
func newRunError(at RunError, f *Failure, logs map[string]string) *RunError {
	return &RunError{Namespace: at.Namespace, JobName: at.JobName, Action: at.Action,
		Outcome: f.Outcome, Container: f.Container, Reason: f.Reason, Message: f.Message, ExitCode: f.ExitCode,
		ErrorFile: f.ErrorFile, Logs: logs, Runner: f.Runner, StateSaved: f.StateSaved, Problems: f.Problems}
}

// ImageNotPulled reports that Container's image could not be pulled.
func (e *RunError) ImageNotPulled() bool {
	switch e.Reason {
	case ReasonErrImagePull, ReasonImagePullBackOff, ReasonInvalidImageName, ReasonErrImageNeverPull:
		return true
	}
	return false
}

// ContainerNotCreated reports that Container could not be created, so it never started.
func (e *RunError) ContainerNotCreated() bool {
	return e.Container != "" && (e.Reason == ReasonCreateContainerConfigError || e.Reason == ReasonCreateContainerError)
}

// Path is the attribute a failure of action points at, when one attribute is its likely
// cause: the runner's image that could not be pulled, or the timeout the Job's own deadline
// carried (timeouts.delete for a destroy, timeouts.create otherwise); nil for none.
func (e *RunError) Path(action string) Path {
	switch {
	case e.InRunner() && e.ImageNotPulled():
		return Root("job").Attr("image")
	case e.Reason == ReasonDeadlineExceeded:
		if action == contract.ActionDestroy {
			return Root("timeouts").Attr("delete")
		}
		return Root("timeouts").Attr("create")
	}
	return nil
}

// InRunner reports that the runner container failed.
func (e *RunError) InRunner() bool { return e.Container == contract.ContainerRunner }

// InSidecar reports that one of the driver's containers (the sidecar image's) failed.
func (e *RunError) InSidecar() bool {
	switch e.Container {
	case contract.ContainerOutputsFetcher, contract.ContainerPreChecks, contract.ContainerGitInit, contract.ContainerStateRestore:
		return true
	}
	return false
}

// Digest identifies the failure by where it happened (container, reason, exit code) and
// the runner's error file, so that the same failure on another action can be recognised.
// It is empty when the runner wrote no error file: an exit code alone says too little.
func (e *RunError) Digest() string {
	if strings.TrimSpace(e.ErrorFile) == "" {
		return ""
	}
	code := ""
	if e.ExitCode != nil {
		code = fmt.Sprint(*e.ExitCode)
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{e.Container, e.Reason, code, strings.TrimSpace(e.ErrorFile)}, "\x00")))
	return hex.EncodeToString(sum[:])
}

// RunnerStarted reports whether the runner may have changed something: its container
// ran (or is running), or it finished but its outputs could not be read.
func (e *RunError) RunnerStarted() bool {
	switch e.Reason {
	case ReasonInvalidOutputs, ReasonInvalidManifests, ReasonOutputsMissing:
		return e.Container != "" || e.Runner != nil
	}
	if e.Runner != nil && (e.Runner.State == "running" || e.Runner.State == "terminated") {
		return true
	}
	if e.Container == contract.ContainerRunner && e.ExitCode != nil {
		return true
	}
	return strings.TrimSpace(e.Logs[contract.ContainerRunner]) != ""
}

func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s run of job %s/%s failed", e.Action, e.Namespace, e.JobName)
	if e.Container != "" {
		fmt.Fprintf(&b, ": container %s", e.Container)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	if e.ExitCode != nil {
		fmt.Fprintf(&b, " (exit code %d)", *e.ExitCode)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", strings.TrimSpace(e.Message))
	}
	return b.String()
}

// Detail renders the error for a person: cause, error file and log tails.
func (e *RunError) Detail() string {
	var b strings.Builder
	b.WriteString(e.Error())
	b.WriteString("\n")
	if e.ErrorFile != "" {
		fmt.Fprintf(&b, "\nError file:\n%s\n", indent(strings.TrimRight(e.ErrorFile, "\n")))
	}
	names := make([]string, 0, len(e.Logs))
	for n := range e.Logs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return containerOrder(names[i]) < containerOrder(names[j]) })
	for _, n := range names {
		if strings.TrimSpace(e.Logs[n]) == "" {
			continue
		}
		fmt.Fprintf(&b, "\nLast lines of the %s container's log:\n%s\n", n, indent(strings.TrimRight(e.Logs[n], "\n")))
	}
	if e.Kept {
		fmt.Fprintf(&b, "\nThe Job was kept for inspection: kubectl -n %s describe job %s\n", e.Namespace, e.JobName)
	}
	return b.String()
}

func containerOrder(n string) int {
	switch n {
	case contract.ContainerRunner:
		return 0
	case contract.ContainerGitInit:
		return 1
	case contract.ContainerPreChecks:
		return 2
	case contract.ContainerOutputsFetcher:
		return 3
	}
	return 4
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }
