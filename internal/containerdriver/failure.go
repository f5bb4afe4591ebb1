package containerdriver

import (
	"errors"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// The vocabulary of a failed run: its outcome, its reasons and its problems, as constants
// and types. interpret.go reads what the cluster reports into a Failure; newRunError
// (errors.go) is the one place a Failure becomes the RunError callers get. The provider,
// the CLI and the probe read these types, never an error's text.

// Outcome says what ended a run that did not succeed.
type Outcome string

const (
	// OutcomeFailed: a container of the run failed or could not be started (Container
	// names it), or the pod failed as a whole.
	OutcomeFailed Outcome = "Failed"
	// OutcomeNotRun: nothing of the run started: the pod could not be created or scheduled,
	// or the run was refused before its Job ran.
	OutcomeNotRun Outcome = "NotRun"
	// OutcomeOutputsRejected: the pod ended, but what it left cannot be read or kept
	// (outputs, manifests, the state directory, a sidecar of another contract version).
	OutcomeOutputsRejected Outcome = "OutputsRejected"
	// OutcomeStopped: the run was stopped before it ended (a timeout, an interrupt, a
	// deleted pod or Job, the Job's own deadline).
	OutcomeStopped Outcome = "Stopped"
)

// Reasons the executor itself gives (the others come from Kubernetes: Error, OOMKilled,
// ErrImagePull, Unschedulable, FailedCreate, DeadlineExceeded...).
const (
	// ReasonTimeout: the caller's deadline passed; the pod was stopped gracefully.
	ReasonTimeout = "Timeout"
	// ReasonInterrupted: the caller gave up (Ctrl-C); the pod was stopped gracefully.
	ReasonInterrupted = "Interrupted"
	// ReasonPodDeleted: the run's pod was deleted (by someone, an eviction or node loss)
	// before it finished.
	ReasonPodDeleted = "PodDeleted"
	// ReasonJobDeleted: the run's Job was deleted while the run was in progress.
	ReasonJobDeleted = "JobDeleted"
	// ReasonInvalidOutputs: the runner's output files break the contract.
	ReasonInvalidOutputs = "InvalidOutputs"
	// ReasonInvalidManifests: the manifests_output property is not a list.
	ReasonInvalidManifests = "InvalidManifests"
	// ReasonOutputsMissing: outputs-fetcher stored nothing.
	ReasonOutputsMissing = "OutputsMissing"
	// ReasonStateNotSaved: the state directory could not be saved.
	ReasonStateNotSaved = "StateNotSaved"
	// ReasonContractMismatch: the sidecars speak another version of the sidecar contract.
	ReasonContractMismatch = "ContractMismatch"
	// ReasonUnschedulable: the pod stayed unschedulable for longer than its grace.
	ReasonUnschedulable = "Unschedulable"
	// ReasonAdoptedMismatch is the reason of a create that adopted an interrupted create's
	// run id and found a Job of that run made with other inputs.
	ReasonAdoptedMismatch = "AdoptedRunMismatch"
	// ReasonNamespaceNotFound: the run's namespace does not exist; nothing was created.
	ReasonNamespaceNotFound = "NamespaceNotFound"
	// ReasonServiceAccountNotFound: the run's service account does not exist: found before
	// the Job was created, or when the Job could not create its pod without it.
	ReasonServiceAccountNotFound = "ServiceAccountNotFound"
	// ReasonInvalidPlan: a plan run succeeded but left no valid plan summary.
	ReasonInvalidPlan = "InvalidPlan"
	// ReasonNativeSidecarsUnsupported: the cluster does not run init containers with
	// restartPolicy: Always (native sidecars), which outputs-fetcher is. Without them the
	// outputs-fetcher would wait for the runner as an ordinary init container, before it, and
	// the run would hang until its timeout.
	ReasonNativeSidecarsUnsupported = "NativeSidecarsUnsupported"
)

// Reasons that come from Kubernetes, which the executor passes on and judges by.
const (
	// ReasonDeadlineExceeded: the Job's activeDeadlineSeconds passed (the caller was gone).
	ReasonDeadlineExceeded = "DeadlineExceeded"
	// ReasonOOMKilled: the container used more memory than its limit.
	ReasonOOMKilled = "OOMKilled"
	// ReasonFailedCreate: the Job's pod could not be created (an event of the Job).
	ReasonFailedCreate = "FailedCreate"
	// The waiting reasons of a container whose image is not there.
	ReasonErrImagePull      = "ErrImagePull"
	ReasonImagePullBackOff  = "ImagePullBackOff"
	ReasonInvalidImageName  = "InvalidImageName"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	// The waiting reasons of a container that could not be created or started.
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonCreateContainerError       = "CreateContainerError"
	ReasonRunContainerError          = "RunContainerError"
)

// Failure is what the interpreter (interpret.go) makes of a run that did not succeed:
// everything a user needs to act but where the Job is and the containers' log tails,
// which newRunError adds.
type Failure struct {
	Outcome Outcome
	// Container is the container that failed, or empty when the pod never ran.
	Container string
	// Reason is one of the Reason constants, or the reason Kubernetes gave.
	Reason  string
	Message string
	// ExitCode of Container; nil when it did not terminate.
	ExitCode *int32
	// ErrorFile is the text the runner (or an init container) wrote to ERROR_FILE.
	ErrorFile string
	// Runner is the runner container's last known status; nil when the pod was never seen.
	Runner *RunnerStatus
	// StateSaved tells, for a run with a state directory that was stopped, whether
	// outputs-fetcher saved the state: nil when unknown or not applicable.
	StateSaved *bool
	// Problems are outputs-fetcher's findings about the runner's files.
	Problems []OutputProblem
	// WithLogs tells whether the containers' log tails say more about this failure (they
	// do not for outputs the runner wrote wrong: the message names what is wrong).
	WithLogs bool
}

// failureCause carries a Failure found by a watch as the cause of the wait's end.
type failureCause struct{ f *Failure }

func (c *failureCause) Error() string { return c.f.Reason + ": " + c.f.Message }

// ErrInvalidPodTemplate is wrapped by every error about a job.pod_template document that
// is not a PodTemplateSpec at all (as opposed to one that sets fields the driver owns).
var ErrInvalidPodTemplate = errors.New("not a valid pod template")

// ProblemKind says what is wrong with one of the runner's output files.
type ProblemKind string

const (
	// ProblemTooLarge: the file is larger than outputs-fetcher stores; it was not stored.
	ProblemTooLarge ProblemKind = "TooLarge"
	// ProblemInvalid: the file is not what the contract asks for (not JSON, not an object,
	// a link, unreadable).
	ProblemInvalid ProblemKind = "Invalid"
)

// OutputProblem is one finding of outputs-fetcher about the runner's output files.
type OutputProblem struct {
	Kind   ProblemKind
	Detail string
}

// outputProblems types outputs-fetcher's findings (outputs.Harvest.Problems).
func outputProblems(found []string) []OutputProblem {
	var out []OutputProblem
	for _, p := range found {
		kind := ProblemInvalid
		if outputs.IsSizeProblem(p) {
			kind = ProblemTooLarge
		}
		out = append(out, OutputProblem{Kind: kind, Detail: p})
	}
	return out
}

// WaitingCause is why the kubelet holds a container in Waiting, as far as a caller must
// tell causes apart.
type WaitingCause string

const (
	// WaitingStarting: nothing wrong yet (ContainerCreating, PodInitializing...).
	WaitingStarting WaitingCause = ""
	// WaitingImagePull: the image cannot be pulled (ErrImagePull, ImagePullBackOff,
	// InvalidImageName, ErrImageNeverPull).
	WaitingImagePull WaitingCause = "ImagePull"
	// WaitingRunsAsRoot: runAsNonRoot refused an image whose user is root.
	WaitingRunsAsRoot WaitingCause = "RunsAsRoot"
	// WaitingNonNumericUser: runAsNonRoot cannot verify an image whose USER is a name.
	WaitingNonNumericUser WaitingCause = "NonNumericUser"
	// WaitingContainerConfig: any other CreateContainerConfigError or CreateContainerError.
	WaitingContainerConfig WaitingCause = "ContainerConfig"
)

// Unrecoverable tells whether a container waiting for this cause will never start
// without a change (an image pull is retried by the kubelet, but the probe and the
// executor's fast failure treat it as final).
func (c WaitingCause) Unrecoverable() bool { return c != WaitingStarting }

// WaitingCauseOf interprets a waiting container's reason and the kubelet's message.
func WaitingCauseOf(w *corev1.ContainerStateWaiting) WaitingCause {
	if w == nil {
		return WaitingStarting
	}
	switch w.Reason {
	case ReasonErrImagePull, ReasonImagePullBackOff, ReasonInvalidImageName, ReasonErrImageNeverPull:
		return WaitingImagePull
	case ReasonCreateContainerConfigError:
		// The kubelet's texts for runAsNonRoot (pkg/kubelet/kuberuntime/security_context_others.go).
		switch {
		case strings.Contains(w.Message, "will run as root"):
			return WaitingRunsAsRoot
		case strings.Contains(w.Message, "non-numeric user"):
			return WaitingNonNumericUser
		}
		return WaitingContainerConfig
	case ReasonCreateContainerError:
		return WaitingContainerConfig
	}
	return WaitingStarting
}

// unrecoverableWaiting are the waiting reasons that will not recover by waiting. Image
// pull errors are judged by their message (pullFailurePermanent).
var unrecoverableWaiting = map[string]bool{
	ReasonInvalidImageName:           true,
	ReasonErrImageNeverPull:          true,
	ReasonCreateContainerConfigError: true,
	ReasonCreateContainerError:       true,
	ReasonRunContainerError:          true,
}

// permanentPull matches the image pull failures that no retry fixes: the image or tag does
// not exist, access is denied, the registry's host does not exist, the name is invalid.
var permanentPull = regexp.MustCompile(`(?i)not found|manifest unknown|name unknown|unauthorized|authentication required|access denied|denied:|forbidden|no such host|invalid reference|repository does not exist`)

func pullFailurePermanent(msg string) bool { return permanentPull.MatchString(msg) }

// maskAll masks every string of ss (a copy).
func (r *redactor) maskAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.mask(s)
	}
	return out
}
