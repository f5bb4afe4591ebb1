package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func newTestChecker() *checker {
	return &checker{o: &checkOptions{}, results: map[string]*checkResult{}, log: newLogCollector()}
}

func TestJudgeCreate_InvalidOutputs(t *testing.T) {
	c := newTestChecker()
	re := &containerdriver.RunError{Action: "create", Container: "runner", Reason: "InvalidOutputs",
		Message: "the runner's output files break the contract (OUTPUTS_FILE and SECRET_OUTPUTS_FILE must hold JSON objects): /workspace/outputs.json is not a JSON object (it is a list)",
		Logs:    map[string]string{"runner": "writing outputs\n"}}
	if c.judgeCreate(&outcome{label: "create #1", err: re, took: time.Second}) {
		t.Fatal("judgeCreate reported success")
	}
	got := map[string]status{}
	for id, r := range c.results {
		got[id] = r.Status
	}
	want := map[string]status{checkCreate: statusPass, checkOutputsJSON: statusFail, checkOutputsSize: statusPass}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if ev := strings.Join(c.results[checkOutputsJSON].Evidence, "\n"); !strings.Contains(ev, "is not a JSON object (it is a list)") || !strings.Contains(ev, "writing outputs") {
		t.Errorf("evidence does not show the problem and the log:\n%s", ev)
	}
}

func TestJudgeCreate_OversizedOutputs(t *testing.T) {
	c := newTestChecker()
	re := &containerdriver.RunError{Reason: "InvalidOutputs", Container: "runner",
		Message: "the runner's output files break the contract (OUTPUTS_FILE and SECRET_OUTPUTS_FILE must hold JSON objects): /workspace/outputs.json is 20000000 bytes, larger than the 16777216 bytes allowed; it was not stored"}
	c.judgeCreate(&outcome{err: re})
	if c.results[checkOutputsSize].Status != statusFail || c.results[checkOutputsJSON].Status != statusSkip {
		t.Errorf("size %s, json %s; want FAIL and SKIP", c.results[checkOutputsSize].Status, c.results[checkOutputsJSON].Status)
	}
}

func TestJudgeCreate_Failed(t *testing.T) {
	c := newTestChecker()
	re := &containerdriver.RunError{Action: "create", Namespace: "ns", JobName: "j", Container: "runner", Reason: "Error", ExitCode: ptr.To[int32](1), ErrorFile: "boom"}
	c.judgeCreate(&outcome{err: re})
	if r := c.results[checkCreate]; r.Status != statusFail || !strings.Contains(strings.Join(r.Evidence, "\n"), "boom") {
		t.Errorf("create = %+v, want FAIL with the error file", r)
	}
}

func TestJudgeInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *outcome
		want status
		text string
	}{
		{"succeeded", &outcome{res: &containerdriver.Result{Outputs: map[string]any{"a": "b"}}}, statusFail, "succeeded"},
		{"no error file", &outcome{err: &containerdriver.RunError{Container: "runner", ExitCode: ptr.To[int32](1)}}, statusFail, "wrote nothing to ERROR_FILE"},
		{"not the runner", &outcome{err: &containerdriver.RunError{Container: "git-init", ExitCode: ptr.To[int32](1), ErrorFile: "x"}}, statusFail, "not by the runner's non-zero exit"},
		{"not a run error", &outcome{err: errors.New("no cluster")}, statusFail, "did not end as a run failure"},
		{"good", &outcome{err: &containerdriver.RunError{Container: "runner", ExitCode: ptr.To[int32](3), ErrorFile: "name must not be empty\nmore"}}, statusPass, "exit code 3, ERROR_FILE: name must not be empty ..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestChecker()
			c.judgeInvalid(tc.r)
			r := c.results[checkInvalidInput]
			if r.Status != tc.want || !strings.Contains(r.Summary, tc.text) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Summary, tc.want, tc.text)
			}
		})
	}
}

func TestDiffOutputs_HidesSecretValues(t *testing.T) {
	a := &containerdriver.Result{Outputs: map[string]any{"id": "a1", "gone": true, "same": 1.0}, SecretOutputs: map[string]any{"token": "s3cr3t-one"}}
	b := &containerdriver.Result{Outputs: map[string]any{"id": "b2", "new": "x", "same": 1.0}, SecretOutputs: map[string]any{"token": "s3cr3t-two"}}
	got := diffOutputs(a, b)
	want := []string{
		`output "gone" disappeared (was true)`,
		`output "id": "a1", then "b2"`,
		`output "new" appeared: "x"`,
		`secret output "token" changed (values not shown)`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(diffOutputs(a, a)) != 0 {
		t.Error("equal results differ")
	}
}

func TestLogCollector_Leaks(t *testing.T) {
	l := newLogCollector()
	l.addSecretVariables(map[string]string{"API_TOKEN": "tok-123456789", "SHORT": "abc"})
	l.addLog("create #1", "starting\nAPI_TOKEN=tok-123456789\n")
	// Terraform's own placeholder for a sensitive output is not a leak.
	l.addLog("create #1", "  + password = (sensitive value)\nshort abc")
	l.addLog("create #2", "the password is pw-0a1b2c3d\n")
	l.addSecrets(map[string]any{"password": "pw-0a1b2c3d", "flag": "true", "nested": []any{map[string]any{"k": "deep-secret"}}})
	want := []string{
		"[create #1] API_TOKEN=" + containerdriver.MaskedText,
		"[create #2] the password is " + containerdriver.MaskedText,
	}
	if diff := cmp.Diff(want, l.leaks()); diff != "" {
		t.Errorf("leaks (-want +got):\n%s", diff)
	}
	if got := l.mask("x deep-secret y"); got != "x "+containerdriver.MaskedText+" y" {
		t.Errorf("mask = %q", got)
	}
	if l.count() != 5 {
		t.Errorf("count = %d, want 5 lines", l.count())
	}
}

func TestNewObjectsAndMentions(t *testing.T) {
	meta := func(uid, name string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{UID: types.UID(uid), Name: name, Labels: labels}
	}
	before := map[types.UID]object{"1": {"ConfigMap", meta("1", "kube-root-ca.crt", nil)}}
	after := map[types.UID]object{
		"1": before["1"],
		"2": {"Secret", meta("2", "tfstate-default-run-1a", map[string]string{"tfstate": "true"})},
		"3": {"ConfigMap", meta("3", "cd-x-out", map[string]string{"app.kubernetes.io/managed-by": "containerdriver"})},
		"4": {"Lease", meta("4", "other", map[string]string{"owner": "run-1a"})},
		"5": {"Secret", meta("5", "someone-elses", nil)},
	}
	got := newObjects(before, after)
	var names []string
	for _, o := range got {
		names = append(names, o.String())
	}
	if diff := cmp.Diff([]string{"Lease other", "Secret someone-elses", "Secret tfstate-default-run-1a"}, names); diff != "" {
		t.Errorf("new objects (-want +got):\n%s", diff)
	}
	if !mentions(after["2"], "run-1a") || !mentions(after["4"], "run-1a") || mentions(after["5"], "run-1a") {
		t.Error("mentions: want the name and a label value to count, and nothing else")
	}
}

func TestStateSelector(t *testing.T) {
	for in, want := range map[string]string{
		"tfstateSecretSuffix":          "tfstateSecretSuffix=run-1",
		"example.com/run":              "example.com/run=run-1",
		"tfstate=true,app in (a,b)":    "app in (a,b),tfstate=true",
		"tfstate=true,owner!=somebody": "owner!=somebody,tfstate=true",
	} {
		sel, err := stateSelector(in, "run-1")
		if err != nil || sel.String() != want {
			t.Errorf("stateSelector(%q) = %v, %v; want %q", in, sel, err, want)
		}
	}
	if _, err := stateSelector("-bad-", "run-1"); err == nil {
		t.Error("a bad label key was accepted")
	}
}

func TestVerdictOf(t *testing.T) {
	pod := func(cs corev1.ContainerState) *corev1.Pod {
		return &corev1.Pod{Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "probe", State: cs}}}}
	}
	waiting := func(reason, msg string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want status // "" for no verdict yet
	}{
		{"pending", pod(waiting("ContainerCreating", "")), ""},
		{"root", pod(waiting("CreateContainerConfigError", "container has runAsNonRoot and image will run as root (pod: \"p\", container: probe)")), statusFail},
		{"user name", pod(waiting("CreateContainerConfigError", "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root")), statusWarn},
		{"pull", pod(waiting("ErrImagePull", "not found")), statusWarn},
		{"started", pod(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError", ExitCode: 128}}), statusPass},
		{"unschedulable", &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"}}}}, statusWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verdictOf(tc.pod)
			var got status
			if v != nil {
				got = v.st
			}
			if got != tc.want {
				t.Errorf("verdict = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProbePod_PassesRestricted(t *testing.T) {
	p := probePod("ns", "sa", "example.com/r:1")
	sc := p.Spec.Containers[0].SecurityContext
	if sc.RunAsUser != nil || p.Spec.SecurityContext != nil {
		t.Error("the probe sets a user: the kubelet would not check the image's")
	}
	if !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || sc.Capabilities.Drop[0] != "ALL" || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("the probe's security context does not pass the restricted standard: %+v", sc)
	}
	if p.Spec.Containers[0].Command[0] != probeCommand {
		t.Error("the probe runs the image's own entrypoint")
	}
}

func TestWriteResults(t *testing.T) {
	var buf bytes.Buffer
	writeResults(&buf, []*checkResult{
		{ID: checkCreate, Title: "create succeeds", Status: statusPass, Summary: "succeeded in 1s"},
		{ID: checkNoSecretInLog, Title: "no secret", Status: statusFail, Summary: "1 line", Evidence: []string{"[create #1] X=(sensitive value)"}},
	})
	want := "PASS create                   create succeeds: succeeded in 1s\n" +
		"FAIL no-secret-in-log         no secret: 1 line\n" +
		"       [create #1] X=(sensitive value)\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestJudgeLeftovers(t *testing.T) {
	ctx := context.Background()
	secret := func(name string, labels map[string]string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: labels}}
	}
	for _, tc := range []struct {
		name     string
		own      bool
		label    string
		objects  []runtime.Object
		want     status
		evidence []string
	}{
		{"nothing left", false, "tfstateSecretSuffix", nil, statusPass, nil},
		{"state by label and by name, counted once", false, "tfstateSecretSuffix",
			[]runtime.Object{secret("tfstate-default-run-1a", map[string]string{"tfstateSecretSuffix": "run-1a"}),
				&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "lock-tfstate-default-run-1a", Namespace: "ns", UID: "l"}}},
			statusFail, []string{"Secret tfstate-default-run-1a (labels match tfstateSecretSuffix=run-1a)", "Lease lock-tfstate-default-run-1a (created 00:00:00)"}},
		{"another's object in a shared namespace", false, "", []runtime.Object{secret("someone-elses", nil)}, statusWarn, []string{"Secret someone-elses"}},
		{"any object in the check's own namespace", true, "", []runtime.Object{secret("someone-elses", nil)}, statusFail, []string{"Secret someone-elses (created 00:00:00)"}},
		{"the driver's own objects", false, "", []runtime.Object{secret("cd-x-out", map[string]string{"app.kubernetes.io/managed-by": "containerdriver"})}, statusPass, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			before, err := snapshot(ctx, client, "ns")
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tc.objects {
				if err := client.Tracker().Add(o); err != nil {
					t.Fatal(err)
				}
			}
			c := newTestChecker()
			c.client, c.o.stateSecretLabel = client, tc.label
			c.env = &environment{namespace: "ns", ownNamespace: tc.own}
			c.base.RunID = "run-1a"
			c.judgeLeftovers(ctx, before, true)
			r := c.results[checkLeavesNothing]
			if r.Status != tc.want {
				t.Errorf("status %s (%s), want %s", r.Status, r.Summary, tc.want)
			}
			if diff := cmp.Diff(tc.evidence, r.Evidence); diff != "" {
				t.Errorf("evidence (-want +got):\n%s", diff)
			}
		})
	}
}
