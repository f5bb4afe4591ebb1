package containerdriver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// inputsSpec is a run with every kind of input object: the inputs Secret, secret files,
// secret variables (a Secret read by env) and files (a ConfigMap).
func inputsSpec() *RunSpec {
	spec := minimalSpec()
	spec.Files = map[string]string{"a.txt": "a"}
	spec.SecretFiles = map[string]string{"creds.json": "file-secret"}
	spec.Job.SecretVariables = map[string]string{"TOKEN": "variable-secret"}
	return spec
}

func ensureFor(t *testing.T, c *fake.Clientset, spec *RunSpec) (*JobObjects, ensured, error) {
	t.Helper()
	b, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := (&Executor{Client: c}).ensureJob(ctx, b, newRedactor(spec))
	return b, res, err
}

// pendingPod is the pod the Job controller made for job, as the kubelet reports it while
// a volume cannot be mounted: every container waiting, none ever started.
func pendingPod(job string) *corev1.Pod {
	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job + "-pending", Namespace: "ns", Labels: map[string]string{batchv1.JobNameLabel: job, contract.LabelManagedBy: contract.ManagedByValue}},
		Status: corev1.PodStatus{
			Phase:                 corev1.PodPending,
			InitContainerStatuses: []corev1.ContainerStatus{{Name: contract.ContainerOutputsFetcher, State: waiting}},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: contract.ContainerRunner, State: waiting}},
		},
	}
}

// startedPod is a pod of job whose outputs-fetcher runs: its inputs were there once.
func startedPod(job string) *corev1.Pod {
	p := pendingPod(job)
	p.Name = job + "-started"
	p.Status.InitContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	p.Status.InitContainerStatuses[0].Started = ptr.To(true)
	return p
}

func verbsOn(c *fake.Clientset, resource string) []string {
	var out []string
	for _, a := range c.Actions() {
		if a.GetResource().Resource == resource && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a.GetVerb())
		}
	}
	return out
}

// The gate every BuildJob gives is the inputs Secret, which the runner mounts: whatever
// else the run reads, its pod starts nothing before that Secret exists.
func TestInputsGate_IsTheInputsSecret(t *testing.T) {
	withSource := minimalSpec()
	withSource.Source = &SourceSpec{URL: "https://git.example/repo.git", Password: "git-password"}
	for name, spec := range map[string]*RunSpec{"minimal": minimalSpec(), "every input": inputsSpec(), "source with a password": withSource} {
		t.Run(name, func(t *testing.T) {
			b, err := BuildJob(spec, contract.ActionCreate)
			if err != nil {
				t.Fatal(err)
			}
			gate := inputsGate(b)
			if gate == nil || gate.Name != contract.ObjectName(b.Job.Name, contract.RoleInputs) {
				t.Fatalf("gate %v, want the inputs Secret", gate)
			}
		})
	}
	b, err := BuildJob(minimalSpec(), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Job.Spec.Template.Spec.Volumes {
		if v := b.Job.Spec.Template.Spec.Volumes[i].Secret; v != nil {
			v.Optional = ptr.To(true)
		}
	}
	if gate := inputsGate(b); gate != nil {
		t.Errorf("an optional Secret volume holds no pod back, got gate %s", gate.Name)
	}
}

// issue 21: the Job is created running (no resume request), its inputs right after it,
// owned by it, and the inputs Secret, which the pod mounts, last: once it exists every
// other input does, so no container meets a missing Secret (CreateContainerConfigError).
func TestEnsureJob_CreatesTheJobRunningThenItsInputs(t *testing.T) {
	c := fakeCluster()
	b, res, err := ensureFor(t, c, inputsSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !res.fresh || res.job == nil || ptr.Deref(res.job.Spec.Suspend, false) {
		t.Fatalf("got %+v, want a fresh Job that is not suspended", res)
	}
	var creates []string
	for _, a := range c.Actions() {
		switch a := a.(type) {
		case k8stesting.CreateAction:
			if r := a.GetResource().Resource; r == "jobs" || r == "secrets" || r == "configmaps" {
				o := a.GetObject().(metav1.Object)
				creates = append(creates, r+"/"+o.GetName())
				if r == "jobs" {
					if ptr.Deref(a.GetObject().(*batchv1.Job).Spec.Suspend, false) {
						t.Error("the Job was created suspended")
					}
				} else if refs := o.GetOwnerReferences(); len(refs) != 1 || refs[0].Kind != "Job" || refs[0].Name != b.Job.Name {
					t.Errorf("%s %s is not owned by the Job: %v", r, o.GetName(), refs)
				}
			}
		case k8stesting.PatchAction:
			t.Errorf("patched %s %s: the Job needs no resume", a.GetResource().Resource, a.GetName())
		}
	}
	gate := "secrets/" + contract.ObjectName(b.Job.Name, contract.RoleInputs)
	if len(creates) != 1+len(b.Secrets)+len(b.ConfigMaps) || creates[0] != "jobs/"+b.Job.Name || creates[len(creates)-1] != gate {
		t.Errorf("created %v, want the Job first, then every input, %s last", creates, gate)
	}
}

// A failure to create an input (a refused Secret, or a provider killed between the Job
// and its inputs, here the inputs Secret refused) leaves nothing: the Job is deleted in
// the foreground, so on a cluster its pod, which started nothing, is gone before the
// Job, and the inputs made before the failure are deleted.
func TestEnsureJob_InputsCreateFailureLeavesNothing(t *testing.T) {
	c := fakeCluster()
	c.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if s := a.(k8stesting.CreateAction).GetObject().(*corev1.Secret); s.Labels[contract.LabelRole] == contract.RoleInputs {
			return true, nil, errors.New("connection reset by peer")
		}
		return false, nil, nil
	})
	_, _, err := ensureFor(t, c, inputsSpec())
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("got %v, want the inputs Secret's failure", err)
	}
	ctx := context.Background()
	jobs, err := c.BatchV1().Jobs("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := c.CoreV1().ConfigMaps("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(jobs.Items) + len(secrets.Items) + len(cms.Items); n != 0 {
		t.Errorf("left behind: %d jobs, %d secrets, %d configmaps", len(jobs.Items), len(secrets.Items), len(cms.Items))
	}
	foreground := false
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && d.GetResource().Resource == "jobs" {
			foreground = foreground || ptr.Deref(d.GetDeleteOptions().PropagationPolicy, "") == metav1.DeletePropagationForeground
		}
	}
	if !foreground {
		t.Error("the Job was not deleted in the foreground: its pod could outlive the run")
	}
}

// A provider killed between the Job's create and its inputs' leaves a Job whose pod waits
// for a Secret that never comes. The next attempt replaces it: the gate is missing and no
// container started, so nothing of it ran.
func TestEnsureJob_JobWithoutItsInputsIsReplaced(t *testing.T) {
	b, err := BuildJob(inputsSpec(), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	left := b.Job.DeepCopy()
	left.UID = "killed-creator"
	c := fakeCluster(left, pendingPod(left.Name))
	_, res, err := ensureFor(t, c, inputsSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !res.fresh {
		t.Error("re-attached to a Job whose inputs were never made")
	}
	if got := strings.Join(verbsOn(c, "jobs"), " "); got != "get delete create" {
		t.Errorf("job requests %q, want the Job read, deleted and created again", got)
	}
	if s, err := c.CoreV1().Secrets("ns").Get(context.Background(), contract.ObjectName(b.Job.Name, contract.RoleInputs), metav1.GetOptions{}); err != nil {
		t.Errorf("the inputs were not made: %v", err)
	} else if s.OwnerReferences[0].UID == "killed-creator" {
		t.Error("the inputs are owned by the replaced Job")
	}
}

// A Job whose pod has started a container but whose Secrets are gone ran, or runs, with
// secret values nobody can check: it is neither re-attached to nor replaced (a run never
// runs twice); the run is refused with what to do.
func TestEnsureJob_StartedJobWithoutItsInputsIsNotReplaced(t *testing.T) {
	b, err := BuildJob(inputsSpec(), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	c := fakeCluster(b.Job.DeepCopy(), startedPod(b.Job.Name))
	_, _, err = ensureFor(t, c, inputsSpec())
	var re *RunError
	if !errors.As(err, &re) || re.Reason != ReasonInputsMissing || !strings.Contains(re.Message, "kubectl -n ns delete job "+b.Job.Name) {
		t.Fatalf("got %v, want a %s refusal naming the Job", err, ReasonInputsMissing)
	}
	if strings.Contains(re.Message, "variable-secret") || strings.Contains(re.Message, "file-secret") {
		t.Errorf("the message holds a secret: %s", re.Message)
	}
	if got := strings.Join(verbsOn(c, "jobs"), " "); got != "get" {
		t.Errorf("job requests %q, want the Job only read", got)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "create" || a.GetVerb() == "delete" {
			t.Errorf("%s %s: a started Job's run must be left alone", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

// Compatibility: a Job the previous version created suspended, whose creator died after
// making its inputs but before resuming it, is re-attached to: its inputs are made again
// (the same content) and it is resumed.
func TestEnsureJob_SuspendedJobOfThePreviousVersionIsResumed(t *testing.T) {
	b, err := BuildJob(inputsSpec(), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	old := b.Job.DeepCopy()
	old.Spec.Suspend = ptr.To(true)
	objs := []runtime.Object{old}
	for _, s := range b.Secrets {
		objs = append(objs, s.DeepCopy())
	}
	c := fakeCluster(objs...)
	_, res, err := ensureFor(t, c, inputsSpec())
	if err != nil {
		t.Fatal(err)
	}
	if res.fresh || ptr.Deref(res.job.Spec.Suspend, false) {
		t.Errorf("got fresh=%v suspended=%v, want the old Job re-attached and resumed", res.fresh, ptr.Deref(res.job.Spec.Suspend, false))
	}
	if got := strings.Join(verbsOn(c, "jobs"), " "); got != "get patch" {
		t.Errorf("job requests %q, want the Job read and resumed", got)
	}
}

// Compatibility: a suspended Job of the previous version whose inputs were never made is
// replaced, as before.
func TestEnsureJob_SuspendedJobWithoutInputsIsReplaced(t *testing.T) {
	b, err := BuildJob(inputsSpec(), contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	old := b.Job.DeepCopy()
	old.Spec.Suspend = ptr.To(true)
	c := fakeCluster(old)
	_, res, err := ensureFor(t, c, inputsSpec())
	if err != nil {
		t.Fatal(err)
	}
	if !res.fresh || ptr.Deref(res.job.Spec.Suspend, false) {
		t.Errorf("got fresh=%v suspended=%v, want a new running Job", res.fresh, ptr.Deref(res.job.Spec.Suspend, false))
	}
	if got := strings.Join(verbsOn(c, "jobs"), " "); got != "get delete create" {
		t.Errorf("job requests %q, want the Job read, deleted and created again", got)
	}
}

// A Job without a gate Secret (none BuildJob makes) is still created suspended and resumed
// once its inputs exist: nothing else would hold its pod back.
func TestEnsureJob_WithoutAGateTheJobWaitsSuspended(t *testing.T) {
	spec := minimalSpec()
	b, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.Job.Spec.Template.Spec.Volumes {
		if v := b.Job.Spec.Template.Spec.Volumes[i].Secret; v != nil {
			v.Optional = ptr.To(true)
		}
	}
	c := fakeCluster()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := (&Executor{Client: c}).ensureJob(ctx, b, newRedactor(spec)); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, a := range c.Actions() {
		if ca, ok := a.(k8stesting.CreateAction); ok && ca.GetResource().Resource == "jobs" {
			if !ptr.Deref(ca.GetObject().(*batchv1.Job).Spec.Suspend, false) {
				t.Error("created running without a gate")
			}
		}
		if v := a.GetVerb(); (v == "create" || v == "patch") && (a.GetResource().Resource == "jobs" || a.GetResource().Resource == "secrets") {
			order = append(order, v+" "+a.GetResource().Resource)
		}
	}
	if got := strings.Join(order, ", "); got != "create jobs, create secrets, patch jobs" {
		t.Errorf("requests %q, want the Job, its inputs, then the resume", got)
	}
}

// An adopted run id may take over a Job that cannot have read its Secrets (suspended, or
// running without its inputs and no container started); a Job that may have read other
// values (its Secrets there, or its pod started) is refused.
func TestCheckAdopted_JobsThatReadNoSecrets(t *testing.T) {
	spec := inputsSpec()
	spec.Adopted = true
	built, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	other := inputsSpec()
	other.Job.SecretVariables = map[string]string{"TOKEN": "theirs"}
	theirs, err := BuildJob(other, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	theirSecretsOnly := func() []runtime.Object {
		var objs []runtime.Object
		for _, s := range theirs.Secrets {
			if s.Labels[contract.LabelRole] != contract.RoleInputs {
				objs = append(objs, s.DeepCopy())
			}
		}
		return objs
	}
	suspended := built.Job.DeepCopy()
	suspended.Spec.Suspend = ptr.To(true)
	for _, tc := range []struct {
		name    string
		objs    []runtime.Object
		refused bool
	}{
		{"running, inputs never made, its pod waiting", []runtime.Object{built.Job.DeepCopy(), pendingPod(built.Job.Name)}, false},
		{"running, inputs never made, no pod yet", []runtime.Object{built.Job.DeepCopy()}, false},
		{"running, some of their inputs made, not the gate", append(theirSecretsOnly(), built.Job.DeepCopy(), pendingPod(built.Job.Name)), false},
		{"suspended, inputs not made yet", []runtime.Object{suspended}, false},
		{"running, inputs gone, its pod started", []runtime.Object{built.Job.DeepCopy(), startedPod(built.Job.Name)}, true},
		{"running with their inputs, its pod not started yet", append([]runtime.Object{theirs.Job.DeepCopy(), pendingPod(built.Job.Name)}, secretsOf(theirs)...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Executor{Client: fakeCluster(tc.objs...)}).checkAdopted(context.Background(), spec, built)
			var re *RunError
			switch {
			case tc.refused && (!errors.As(err, &re) || re.Reason != ReasonAdoptedMismatch):
				t.Errorf("got %v, want a %s refusal", err, ReasonAdoptedMismatch)
			case !tc.refused && err != nil:
				t.Errorf("refused: %v", err)
			}
		})
	}
}

func secretsOf(b *JobObjects) []runtime.Object {
	var objs []runtime.Object
	for _, s := range b.Secrets {
		objs = append(objs, s.DeepCopy())
	}
	return objs
}

// A pod deleted while it waited for its inputs reports its containers terminated
// (ContainerStatusUnknown, exit code 137) without a start time: nothing of it ran.
func TestContainerStarted(t *testing.T) {
	unknown := pendingPod("j")
	unknown.Status.Phase = corev1.PodFailed
	unknown.Status.InitContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		ExitCode: 137, Reason: "ContainerStatusUnknown", Message: "The container could not be located when the pod was terminated"}}
	ended := pendingPod("j")
	ended.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, StartedAt: metav1.Now()}}
	restarted := pendingPod("j")
	restarted.Status.InitContainerStatuses[0].RestartCount = 1
	for name, tc := range map[string]struct {
		pod  *corev1.Pod
		want bool
	}{
		"waiting to mount":      {pendingPod("j"), false},
		"deleted while waiting": {unknown, false},
		"running":               {startedPod("j"), true},
		"ended after a start":   {ended, true},
		"restarted":             {restarted, true},
	} {
		if got := containerStarted(tc.pod); got != tc.want {
			t.Errorf("%s: containerStarted = %v, want %v", name, got, tc.want)
		}
	}
}
