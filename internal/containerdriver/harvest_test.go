package containerdriver

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// interpret is pure: the same pod and harvest give the same Result or Failure, and the
// RunError made of a Failure says where the run was.
func TestInterpret(t *testing.T) {
	terminated := func(name string, code int32, reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: "the tail s3cret-value"}}}
	}
	pod := func(phase corev1.PodPhase, runnerCode int32) *corev1.Pod {
		reason := "Completed"
		if runnerCode != 0 {
			reason = "Error"
		}
		return &corev1.Pod{Status: corev1.PodStatus{Phase: phase, ContainerStatuses: []corev1.ContainerStatus{terminated(contract.ContainerRunner, runnerCode, reason)}}}
	}
	waitingRunner := corev1.ContainerStatus{Name: contract.ContainerRunner, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}
	spec := minimalSpec()
	spec.ManifestsOutput = "manifests"
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cret-value"}
	base := RunError{Namespace: "ns", JobName: "job", Action: contract.ActionCreate}
	for _, c := range []struct {
		name       string
		pod        *corev1.Pod
		h          *outputs.Harvest
		harvestErr error
		reason     string // empty: success
		container  string
		withLogs   bool
		message    string // checked when set
	}{
		{name: "success", pod: pod(corev1.PodSucceeded, 0),
			h: &outputs.Harvest{Outputs: []byte(`{"a":1,"manifests":[{"kind":"A"}]}`), SecretOutputs: []byte(`{"manifests":[{"kind":"B"}]}`), ContractVersion: contract.Version}},
		{name: "other contract version", pod: pod(corev1.PodSucceeded, 0), h: &outputs.Harvest{ContractVersion: "999"},
			reason: ReasonContractMismatch, container: contract.ContainerOutputsFetcher},
		{name: "no contract version: a sidecar older than the versioning, read as version 1", pod: pod(corev1.PodSucceeded, 0),
			h:      &outputs.Harvest{Outputs: []byte(`{"a":1,"manifests":[]}`), ContractVersion: "none"},
			reason: ReasonContractMismatch, container: contract.ContainerOutputsFetcher,
			message: "the sidecar image's outputs-fetcher speaks version 1 of the sidecar contract, this provider version 2, so its outputs cannot be read safely: " +
				"set the provider's sidecar_image (or CONTAINERDRIVER_SIDECAR_IMAGE, or the runner's sidecar_image) to the sidecar image released with this provider version"},
		{name: "pre-checks refused the contract version, the runner never started", pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed,
			InitContainerStatuses: []corev1.ContainerStatus{{Name: contract.ContainerPreChecks, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: contract.ExitContractMismatch, Reason: "Error", Message: "prechecks: " + contract.ContractMismatch("9") + "\n"}}}},
			ContainerStatuses: []corev1.ContainerStatus{waitingRunner}}},
			reason: ReasonContractMismatch, container: contract.ContainerPreChecks, withLogs: true, message: "prechecks: " + contract.ContractMismatch("9")},
		{name: "outputs-fetcher refused the contract version and was restarted", pod: &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning,
			InitContainerStatuses: []corev1.ContainerStatus{{Name: contract.ContainerOutputsFetcher,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: contract.ExitContractMismatch, Message: "outputsfetcher: " + contract.ContractMismatch("9")}}}},
			ContainerStatuses: []corev1.ContainerStatus{waitingRunner}}},
			reason: ReasonContractMismatch, container: contract.ContainerOutputsFetcher, withLogs: true},
		{name: "runner failed", pod: pod(corev1.PodFailed, 3), h: &outputs.Harvest{ErrorText: "boom"},
			reason: "Error", container: contract.ContainerRunner, withLogs: true},
		{name: "runner failed, its error file refused", pod: pod(corev1.PodFailed, 3), h: &outputs.Harvest{Problems: []string{"/w/error.txt was refused: it is a symbolic link"}},
			reason: "Error", container: contract.ContainerRunner, withLogs: true, message: "the tail (sensitive value); " + InvalidOutputsMessage + ": /w/error.txt was refused: it is a symbolic link"},
		{name: "nothing stored", pod: pod(corev1.PodSucceeded, 0),
			reason: ReasonOutputsMissing, container: contract.ContainerOutputsFetcher, withLogs: true},
		{name: "reading failed", pod: pod(corev1.PodSucceeded, 0), harvestErr: errors.New("forbidden"),
			reason: ReasonOutputsMissing, container: contract.ContainerOutputsFetcher, withLogs: true},
		{name: "state not saved", pod: pod(corev1.PodSucceeded, 0), h: &outputs.Harvest{StateError: "too big"},
			reason: ReasonStateNotSaved, container: contract.ContainerOutputsFetcher, withLogs: true},
		{name: "outputs break the contract", pod: pod(corev1.PodSucceeded, 0), h: &outputs.Harvest{Problems: []string{"OUTPUTS_FILE: not an object"}},
			reason: ReasonInvalidOutputs, container: contract.ContainerRunner, withLogs: true},
		{name: "manifests not a list", pod: pod(corev1.PodSucceeded, 0), h: &outputs.Harvest{Outputs: []byte(`{"manifests":"x"}`)},
			reason: ReasonInvalidManifests, container: contract.ContainerRunner},
	} {
		t.Run(c.name, func(t *testing.T) {
			// What outputs-fetcher of this version stores carries the version; "none" stands
			// for a ConfigMap without it.
			if c.h != nil && c.h.ContractVersion == "" {
				c.h.ContractVersion = contract.Version
			} else if c.h != nil && c.h.ContractVersion == "none" {
				c.h.ContractVersion = ""
			}
			res, f := interpret(c.pod, c.h, c.harvestErr, spec, newRedactor(spec))
			if c.reason == "" {
				if f != nil {
					t.Fatalf("got %+v, want success", f)
				}
				if len(res.Manifests) != 2 || res.Outputs["a"] == nil {
					t.Errorf("result %+v", res)
				}
				if res.Runner.Message != "the tail (sensitive value)" {
					t.Errorf("runner_status.message = %q, want the secret masked", res.Runner.Message)
				}
				return
			}
			if f == nil {
				t.Fatalf("got success %+v, want %s", res, c.reason)
			}
			re, withLogs := newRunError(base, f, nil), f.WithLogs
			if re.Reason != c.reason || re.Container != c.container || withLogs != c.withLogs {
				t.Errorf("got %s in %q (logs %v), want %s in %q (logs %v)", re.Reason, re.Container, withLogs, c.reason, c.container, c.withLogs)
			}
			if c.message != "" && re.Message != c.message {
				t.Errorf("message %q, want %q", re.Message, c.message)
			}
			if re.Namespace != "ns" || re.JobName != "job" || re.Runner == nil {
				t.Errorf("the RunError lost where the run was: %+v", re)
			}
		})
	}
}

// What a harvest read is complete when the pod had ended before the read, or when chunk 0
// of the outputs ConfigMap had arrived (stored): outputs-fetcher writes nothing after it.
func TestHarvest_Complete(t *testing.T) {
	h := outputs.Harvest{Outputs: []byte(`{"a":"1"}`)}
	cms, secrets := outputs.Objects(outputs.Meta{Namespace: "ns", JobName: "job-a", BaseName: "job-a-out"}, h)
	var stored []corev1.ConfigMap
	for _, c := range cms {
		stored = append(stored, *c)
	}
	running := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning,
		InitContainerStatuses: []corev1.ContainerStatus{{Name: contract.ContainerOutputsFetcher, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		ContainerStatuses:     []corev1.ContainerStatus{{Name: contract.ContainerRunner, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}}}
	over := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded,
		ContainerStatuses: []corev1.ContainerStatus{{Name: contract.ContainerRunner, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}}}}}
	for _, c := range []struct {
		name                string
		pod                 *corev1.Pod
		stored              []corev1.ConfigMap
		complete, podMayRun bool
	}{
		{"pod over, listed", over, nil, true, false},
		{"pod running, listed", running, nil, false, false},
		{"pod running, chunk 0 arrived", running, stored, true, true},
		{"pod over, chunk 0 arrived", over, stored, true, false},
	} {
		cl := fakeCluster(secrets[0], cms[0])
		var seen harvestedObjects
		res, err := (&Executor{Client: cl}).harvest(context.Background(), &RunSpec{}, c.pod, jobKey{Name: "job-a"}, RunError{Namespace: "ns", JobName: "job-a"}, newRedactor(&RunSpec{}), newLogRing(1), &seen, c.stored)
		if err != nil || res.Outputs["a"] != "1" {
			t.Fatalf("%s: %v, %v", c.name, res, err)
		}
		if seen.complete != c.complete || seen.podMayRun != c.podMayRun {
			t.Errorf("%s: complete %v, podMayRun %v; want %v, %v", c.name, seen.complete, seen.podMayRun, c.complete, c.podMayRun)
		}
		if strings.Join(seen.configMaps, ",") != "job-a-out" || strings.Join(seen.secrets, ",") != "job-a-out" {
			t.Errorf("%s: read %v and %v", c.name, seen.configMaps, seen.secrets)
		}
	}
}
