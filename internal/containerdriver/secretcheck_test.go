package containerdriver

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// The Job's name and annotation do not depend on the secret values, so nobody who can
// read Jobs can test a guess of a secret against them.
func TestSpecHash_LeavesSecretValuesOut(t *testing.T) {
	withSecrets := func(v string) *RunSpec {
		s := minimalSpec()
		s.Job.SecretVariables = map[string]string{"TOKEN": v}
		s.SecretFiles = map[string]string{"key": v}
		s.Source = &SourceSpec{URL: "https://h/r.git", Password: v}
		s.Credentials = map[string]any{"aws": map[string]any{"secret": v, "n": 1}}
		s.CredentialsConfig = &CredentialsConfig{Environment: map[string]string{"AWS": "aws.secret"}}
		return s
	}
	a, err := BuildJob(withSecrets("first-secret"), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BuildJob(withSecrets("other-secret"), contract.ActionCreate)
	if a.Job.Name != b.Job.Name || a.Job.Annotations[contract.AnnotationSpecHash] != b.Job.Annotations[contract.AnnotationSpecHash] {
		t.Errorf("the secret values change the Job's name or spec-hash: %s %v, %s %v", a.Job.Name, a.Job.Annotations, b.Job.Name, b.Job.Annotations)
	}
	// Whether a secret exists still shapes the Job, so it still counts.
	c := withSecrets("first-secret")
	c.Job.SecretVariables["MORE"] = "another"
	if cb, _ := BuildJob(c, contract.ActionCreate); cb.Job.Name == a.Job.Name {
		t.Error("a new secret variable kept the Job's name")
	}
}

// A Job found under the run's name whose Secrets hold other secret values (a crashed
// attempt before the secret was rotated) is not re-attached to: it is replaced.
func TestRun_ReattachOnlyWithTheSameSecrets(t *testing.T) {
	spec := minimalSpec()
	spec.Job.SecretVariables = map[string]string{"TOKEN": "new-token"}
	built, _ := BuildJob(spec, contract.ActionCreate)
	job := built.Job.DeepCopy()
	objs := append(outputObjects(job.Name, outputs.Harvest{Outputs: []byte(`{}`)}), job, finishedPod(job.Name, corev1.PodSucceeded, 0))
	for _, sec := range built.Secrets {
		sec = sec.DeepCopy()
		if strings.HasSuffix(sec.Name, contract.RoleSecretVariables) {
			sec.Data["TOKEN"] = []byte("old-token")
		}
		objs = append(objs, sec)
	}
	c := fakeCluster(objs...)
	// The fake cluster never runs the new Job: what matters is what happened before.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _ = (&Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
	var createdJob, deletedJob bool
	for _, a := range c.Actions() {
		if ca, ok := a.(k8stesting.CreateAction); ok && ca.GetResource().Resource == "jobs" {
			createdJob = true
		}
		if da, ok := a.(k8stesting.DeleteAction); ok && da.GetResource().Resource == "jobs" && da.GetName() == job.Name {
			deletedJob = true
		}
	}
	if !createdJob || !deletedJob {
		t.Errorf("the Job of other secrets was re-attached to (deleted: %v, created again: %v)", deletedJob, createdJob)
	}
}

// A Job the namespace's shared Job watch does not show yet (here: its list hides it) is
// found when the create answers AlreadyExists, and gets the same checks as one the watch
// showed: started with other secret values, it is replaced, not re-attached to.
func TestRun_AlreadyExistsGetsTheSameChecks(t *testing.T) {
	spec := minimalSpec()
	spec.Job.SecretVariables = map[string]string{"TOKEN": "new-token"}
	built, _ := BuildJob(spec, contract.ActionCreate)
	job := built.Job.DeepCopy()
	objs := []runtime.Object{job}
	for _, sec := range built.Secrets {
		sec = sec.DeepCopy()
		if strings.HasSuffix(sec.Name, contract.RoleSecretVariables) {
			sec.Data["TOKEN"] = []byte("old-token")
		}
		objs = append(objs, sec)
	}
	c := fakeCluster(objs...)
	hide := func(o runtime.Object) bool { j, ok := o.(*batchv1.Job); return ok && j.Name == job.Name }
	c.PrependReactor("list", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &batchv1.JobList{}, nil
	})
	c.PrependWatchReactor("jobs", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w, err := c.Tracker().Watch(a.GetResource(), a.GetNamespace(), a.(k8stesting.WatchActionImpl).ListOptions)
		if err != nil {
			return true, nil, err
		}
		return true, watch.Filter(w, func(ev watch.Event) (watch.Event, bool) { return ev, !hide(ev.Object) }), nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, _ = (&Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
	var creates, gets int
	var deletedJob bool
	for _, a := range c.Actions() {
		switch {
		case a.GetResource().Resource != "jobs":
		case a.GetVerb() == "create":
			creates++
		case a.GetVerb() == "get":
			gets++
		case a.GetVerb() == "delete":
			deletedJob = deletedJob || a.(k8stesting.DeleteAction).GetName() == job.Name
		}
	}
	if gets != 1 || creates != 2 || !deletedJob {
		t.Errorf("want a create refused, one get, the Job of other secrets deleted and created again; got %d creates, %d gets, deleted %v", creates, gets, deletedJob)
	}
}
