package containerdriver

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

func TestWaitingCauseOf(t *testing.T) {
	for _, tc := range []struct {
		reason, message string
		want            WaitingCause
	}{
		{"ContainerCreating", "", WaitingStarting},
		{"PodInitializing", "", WaitingStarting},
		{ReasonErrImagePull, "failed to pull: not found", WaitingImagePull},
		{ReasonImagePullBackOff, "Back-off pulling image", WaitingImagePull},
		{ReasonInvalidImageName, "couldn't parse image name", WaitingImagePull},
		{ReasonErrImageNeverPull, "image is not present with pull policy of Never", WaitingImagePull},
		{ReasonCreateContainerConfigError, "container has runAsNonRoot and image will run as root (pod: \"p\", container: runner)", WaitingRunsAsRoot},
		{ReasonCreateContainerConfigError, "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root", WaitingNonNumericUser},
		{ReasonCreateContainerConfigError, "secret \"x\" not found", WaitingContainerConfig},
		{ReasonCreateContainerError, "failed to create containerd container", WaitingContainerConfig},
	} {
		got := WaitingCauseOf(&corev1.ContainerStateWaiting{Reason: tc.reason, Message: tc.message})
		if got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.reason, tc.message, got, tc.want)
		}
		if got.Unrecoverable() != (tc.want != WaitingStarting) {
			t.Errorf("%s: Unrecoverable() = %v", tc.reason, got.Unrecoverable())
		}
	}
	if WaitingCauseOf(nil) != WaitingStarting {
		t.Error("a container not waiting has a cause")
	}
}

// outputs-fetcher's findings reach the Failure typed, whatever their text, secrets masked.
func TestInterpret_TypedOutputProblems(t *testing.T) {
	spec := minimalSpec()
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cret-value"}
	pod := func(code int32) *corev1.Pod {
		phase, reason := corev1.PodSucceeded, "Completed"
		if code != 0 {
			phase, reason = corev1.PodFailed, "Error"
		}
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{{Name: contract.ContainerRunner,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason}}}}}}
	}
	tooLarge := "/w/outputs.json is 20000000 bytes, larger than the 16777216 bytes allowed; it was not stored"
	for _, tc := range []struct {
		name     string
		code     int32
		problems []string
		want     []OutputProblem
	}{
		{"not an object, too large; the runner succeeded", 0, []string{"/w/secret-outputs.json: not a JSON object; it is a list", tooLarge},
			[]OutputProblem{{ProblemInvalid, "/w/secret-outputs.json: not a JSON object; it is a list"}, {ProblemTooLarge, tooLarge}}},
		{"a refused error file; the runner failed, a secret in the finding", 3, []string{"/w/error.txt (s3cret-value) was refused: it is a symbolic link"},
			[]OutputProblem{{ProblemInvalid, "/w/error.txt (" + MaskedText + ") was refused: it is a symbolic link"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, re := interpret(pod(tc.code), &outputs.Harvest{Problems: tc.problems, ContractVersion: contract.Version}, nil, spec, newRedactor(spec))
			if re == nil {
				t.Fatal("success")
			}
			if diff := cmp.Diff(tc.want, re.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// Every document that is no pod template at all is ErrInvalidPodTemplate; a template
// that only sets fields the driver owns is not.
func TestParsePodTemplate_ErrInvalidPodTemplate(t *testing.T) {
	for doc, want := range map[string]bool{
		"spec: [":                    true,
		"- a\n- b\n":                 true,
		"spec:\n  nodeSelectr: {}\n": true,
		"spec:\n  nodeSelector: {a: b}\n  nodeSelector: {c: d}\n": true,
		"spec:\n  serviceAccountName: other\n":                    false,
	} {
		_, err := ParsePodTemplate(doc)
		if err == nil {
			t.Errorf("%q accepted", doc)
			continue
		}
		if got := errors.Is(err, ErrInvalidPodTemplate); got != want {
			t.Errorf("%q: errors.Is(ErrInvalidPodTemplate) = %v, want %v (%v)", doc, got, want, err)
		}
	}
}
