package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

func TestOutcome_RunErr(t *testing.T) {
	re := &containerdriver.RunError{Reason: containerdriver.ReasonOOMKilled}
	for _, tt := range []struct {
		name string
		err  error
		want *containerdriver.RunError
	}{
		{"none", nil, nil},
		{"another error", errors.New("connection refused"), nil},
		{"a run error", re, re},
		{"a wrapped run error", fmt.Errorf("create: %w", re), re},
	} {
		if got := (&outcome{err: tt.err}).runErr(); got != tt.want {
			t.Errorf("%s: runErr() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDescribeFailure(t *testing.T) {
	c := newTestChecker()
	c.log.addSecretVariables(map[string]string{"TOKEN": "hunter22"})
	two := int32(2)
	re := &containerdriver.RunError{Action: "create", Namespace: "ns", JobName: "j", Container: "runner", Reason: "Error", ExitCode: &two,
		ErrorFile: "login with hunter22 failed"}
	got := c.describeFailure(&outcome{err: fmt.Errorf("run: %w", re)})
	if want := strings.Split(strings.TrimRight(strings.ReplaceAll(re.Detail(), "hunter22", containerdriver.MaskedText), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("a run error: got\n%q\nwant its detail, masked, by line\n%q", got, want)
	}
	if strings.Contains(strings.Join(got, "\n"), "hunter22") {
		t.Error("the secret is shown")
	}
	got = c.describeFailure(&outcome{err: errors.New("dial: token hunter22 refused\nretry later\n")})
	if want := []string{"dial: token " + containerdriver.MaskedText + " refused", "retry later"}; !slices.Equal(got, want) {
		t.Errorf("another error: %q, want %q", got, want)
	}
}

// checkerOn is a checker on a fake cluster, namespace ns.
func checkerOn(objs ...runtime.Object) (*checker, *fake.Clientset, *bytes.Buffer) {
	client := fake.NewClientset(objs...)
	var progress bytes.Buffer
	c := newTestChecker()
	c.client = client
	c.ex = &containerdriver.Executor{Client: client}
	c.env = &environment{client: client, namespace: "ns"}
	c.progress = &progress
	c.o.timeout = 5 * time.Second
	return c, client, &progress
}

// runObjects are what a finished run of Job job leaves: the Job, its ended pod and its
// outputs objects holding errorText.
func runObjects(job, errorText string) []runtime.Object {
	objs := []runtime.Object{
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: job, Namespace: "ns"}},
		&corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: job + "-abcde", Namespace: "ns", Labels: map[string]string{batchv1.JobNameLabel: job}},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
				Name: contract.ContainerRunner, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}},
			}}},
		},
	}
	cms, secrets := outputs.Objects(outputs.Meta{Namespace: "ns", JobName: job, BaseName: contract.OutputsObjectName(job)}, outputs.Harvest{ErrorText: errorText})
	for _, o := range cms {
		objs = append(objs, o)
	}
	for _, o := range secrets {
		objs = append(objs, o)
	}
	return objs
}

func TestCollect(t *testing.T) {
	for _, tt := range []struct {
		name          string
		objs          []runtime.Object
		wantErrorFile []labelled
		wantLog       int
	}{
		{name: "an error file", objs: runObjects("job-1", "bucket exists\n"), wantErrorFile: []labelled{{"create #1", "bucket exists\n"}}, wantLog: 1},
		{name: "a blank error file", objs: runObjects("job-1", " \n"), wantLog: 1},
		{name: "another job's error file", objs: append(runObjects("job-2", "not mine"), &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "job-1", Namespace: "ns"}})},
		{name: "nothing stored", objs: runObjects("job-1", "bucket exists")[:2], wantLog: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, client, _ := checkerOn(tt.objs...)
			c.collect(context.Background(), "create #1", "job-1")
			if !slices.Equal(c.errorFiles, tt.wantErrorFile) {
				t.Errorf("error files %q, want %q", c.errorFiles, tt.wantErrorFile)
			}
			if got := c.log.count(); got != tt.wantLog {
				t.Errorf("%d log lines kept, want %d (the runner's log of each pod)", got, tt.wantLog)
			}
			ctx := context.Background()
			if _, err := client.BatchV1().Jobs("ns").Get(ctx, "job-1", metav1.GetOptions{}); err == nil {
				t.Error("the Job was not removed")
			}
			sel := metav1.ListOptions{LabelSelector: contract.LabelJob + "=job-1"}
			cms, err1 := client.CoreV1().ConfigMaps("ns").List(ctx, sel)
			secrets, err2 := client.CoreV1().Secrets("ns").List(ctx, sel)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if n := len(cms.Items) + len(secrets.Items); n != 0 {
				t.Errorf("%d outputs objects of the run left", n)
			}
			if tt.name == "another job's error file" {
				other, err := client.CoreV1().ConfigMaps("ns").List(ctx, metav1.ListOptions{LabelSelector: contract.LabelJob + "=job-2"})
				if err != nil || len(other.Items) == 0 {
					t.Error("another Job's objects were removed")
				}
			}
		})
	}
}

func TestCollect_LogOfTheRunner(t *testing.T) {
	c, _, _ := checkerOn(runObjects("job-1", "")...)
	c.log.addSecretVariables(map[string]string{"K": "fake"}) // the fake clientset's log is "fake logs"
	c.collect(context.Background(), "create #1", "job-1")
	if got := c.log.leaks(); !slices.Equal(got, []string{"[create #1] " + containerdriver.MaskedText + " logs"}) {
		t.Errorf("leaks %q: the runner's log was not kept under the run's label", got)
	}
}

// TestExecSpec_Refused: a spec the executor refuses is a failed outcome, reported on the
// progress stream, with nothing to collect; the spec run is kept for collect and holds the
// inputs.
func TestExecSpec_Refused(t *testing.T) {
	c, client, progress := checkerOn()
	spec := &containerdriver.RunSpec{RunID: "r1", Job: containerdriver.JobSpec{Namespace: "ns"}} // no image
	inputs := map[string]any{"a": "b"}
	r := c.execSpec(context.Background(), "create #1", spec, inputs, contract.ActionCreate)
	if r.err == nil || r.res != nil || r.label != "create #1" {
		t.Fatalf("outcome %+v, want a failure", r)
	}
	if !spec.KeepResources || spec.Inputs == nil || spec.Inputs.(map[string]any)["a"] != "b" {
		t.Errorf("spec run: keep %v inputs %v", spec.KeepResources, spec.Inputs)
	}
	if got := progress.String(); !strings.HasPrefix(got, "containerdriver: create #1: failed in ") {
		t.Errorf("progress %q", got)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			t.Errorf("a refused spec changed the cluster: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

// TestExecSpec_TimedOut: a run that does not end within the check's timeout is a failed
// outcome with the run error's reason, and its Job is collected (removed) even though the
// spec asked to keep it.
func TestExecSpec_TimedOut(t *testing.T) {
	c, client, progress := checkerOn(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: "ns"}})
	c.o.timeout = 500 * time.Millisecond
	created := 0
	client.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		created++
		return false, nil, nil
	})
	spec := &containerdriver.RunSpec{RunID: "r1", Job: containerdriver.JobSpec{Namespace: "ns", Image: "registry.example/runner:1", ServiceAccount: "sa", SharedDirectory: "/workspace"}}
	r := c.execSpec(context.Background(), "create #1", spec, nil, contract.ActionCreate)
	re := r.runErr()
	if re == nil {
		t.Fatalf("outcome error %v, want a run error", r.err)
	}
	if re.Reason != containerdriver.ReasonTimeout || created != 1 {
		t.Errorf("reason %s, %d Jobs created; want %s after one Job", re.Reason, created, containerdriver.ReasonTimeout)
	}
	if re.Kept {
		t.Error("the run error says the Job is kept, but collect removed it")
	}
	if want := fmt.Sprintf("containerdriver: create #1: failed (%s) in ", re.Reason); !strings.HasPrefix(progress.String(), want) {
		t.Errorf("progress %q, want it to start with %q", progress.String(), want)
	}
	jobs, err := client.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(jobs.Items) != 0 || re.JobName == "" {
		var names []string
		for _, j := range jobs.Items {
			names = append(names, j.Name)
		}
		t.Errorf("Jobs left %v (%v), the run's was %q", names, err, re.JobName)
	}
}
