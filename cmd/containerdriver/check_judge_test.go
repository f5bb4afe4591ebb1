package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func TestJudgeCreate_InvalidOutputs(t *testing.T) {
	c := newTestChecker()
	re := &containerdriver.RunError{Action: "create", Container: "runner", Reason: "InvalidOutputs",
		Message:  containerdriver.InvalidOutputsMessage + ": /workspace/outputs.json is not a JSON object (it is a list)",
		Problems: []containerdriver.OutputProblem{{Kind: containerdriver.ProblemInvalid, Detail: "/workspace/outputs.json is not a JSON object (it is a list)"}},
		Logs:     map[string]string{"runner": "writing outputs\n"}}
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
		Message:  containerdriver.InvalidOutputsMessage + ": /workspace/outputs.json is 20000000 bytes, larger than the 16777216 bytes allowed; it was not stored",
		Problems: []containerdriver.OutputProblem{{Kind: containerdriver.ProblemTooLarge, Detail: "/workspace/outputs.json is 20000000 bytes, larger than the 16777216 bytes allowed; it was not stored"}}}
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
