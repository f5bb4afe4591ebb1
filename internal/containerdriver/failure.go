package containerdriver

import (
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// One place reads what the cluster and the sidecars report as text (a kubelet's waiting
// message, outputs-fetcher's findings, the template decoder's errors) and turns it into
// typed values; the provider, the CLI and the probe read those, never the text.

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

// maskAll masks every string of ss (a copy).
func (r *redactor) maskAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.mask(s)
	}
	return out
}
