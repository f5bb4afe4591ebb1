package containerdriver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// The control flow of Run on a fake clientset; the behaviour itself is tested on the real
// cluster in executor_cluster_test.go.

func fakeCluster(objs ...runtime.Object) *fake.Clientset {
	base := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner", Namespace: "ns"}},
	}
	c := fake.NewClientset(append(base, objs...)...)
	serveDeleteCollection(c)
	return c
}

// serveDeleteCollection makes the fake clientset delete what a deletecollection's label
// selector selects, as the API server does (the fake's tracker answers it without deleting
// anything).
func serveDeleteCollection(c *fake.Clientset) {
	c.PrependReactor("delete-collection", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		dc := a.(k8stesting.DeleteCollectionAction)
		gvr := dc.GetResource()
		gvk, ok := map[string]schema.GroupVersionKind{
			"secrets":    corev1.SchemeGroupVersion.WithKind("Secret"),
			"configmaps": corev1.SchemeGroupVersion.WithKind("ConfigMap"),
		}[gvr.Resource]
		if !ok {
			return false, nil, nil
		}
		list, err := c.Tracker().List(gvr, gvk, dc.GetNamespace())
		if err != nil {
			return true, nil, err
		}
		items, err := apimeta.ExtractList(list)
		if err != nil {
			return true, nil, err
		}
		sel := dc.GetListRestrictions().Labels
		for _, o := range items {
			m, err := apimeta.Accessor(o)
			if err != nil {
				return true, nil, err
			}
			if sel.Matches(labels.Set(m.GetLabels())) {
				if err := c.Tracker().Delete(gvr, dc.GetNamespace(), m.GetName()); err != nil {
					return true, nil, err
				}
			}
		}
		return true, nil, nil
	})
}

// finishedPod is the pod the Job controller would have made, in a terminal phase.
func finishedPod(job string, phase corev1.PodPhase, runnerExit int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job + "-abcde", Namespace: "ns", Labels: map[string]string{batchv1.JobNameLabel: job, contract.LabelManagedBy: contract.ManagedByValue}},
		Status: corev1.PodStatus{
			Phase: phase,
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "runner", ImageID: "example.local/runner@sha256:aaaa",
				State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: runnerExit, Reason: "Completed"}},
			}},
		},
	}
}

func outputObjects(job string, h outputs.Harvest) []runtime.Object {
	cms, secrets := outputs.Objects(outputs.Meta{Namespace: "ns", JobName: job, BaseName: contract.OutputsObjectName(job)}, h)
	var objs []runtime.Object
	for _, c := range cms {
		objs = append(objs, c)
	}
	for _, s := range secrets {
		objs = append(objs, s)
	}
	return objs
}

func runWithTimeout(t *testing.T, e *Executor, spec *RunSpec) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.Run(ctx, spec, contract.ActionCreate)
}

func TestRun_HarvestsAndCleansUp(t *testing.T) {
	spec := minimalSpec()
	spec.ManifestsOutput = "manifests"
	built, _ := BuildJob(spec, contract.ActionCreate)
	name := built.Job.Name
	objs := append(outputObjects(name, outputs.Harvest{
		Outputs:       []byte(`{"a":"1","manifests":[{"location":"x"}]}`),
		SecretOutputs: []byte(`{"s":"2","manifests":[{"location":"y"}]}`),
	}), finishedPod(name, corev1.PodSucceeded, 0))
	c := fakeCluster(objs...)
	res, err := runWithTimeout(t, &Executor{Client: c}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outputs["a"] != "1" || res.SecretOutputs["s"] != "2" || res.ImageID != "example.local/runner@sha256:aaaa" {
		t.Errorf("result %+v", res)
	}
	if len(res.Manifests) != 2 {
		t.Errorf("manifests = %v, want the outputs' then the secret outputs'", res.Manifests)
	}
	jobs, err := c.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := c.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := c.CoreV1().ConfigMaps("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items)+len(secrets.Items)+len(cms.Items) != 0 {
		t.Errorf("left behind: %d jobs, %d secrets, %d configmaps", len(jobs.Items), len(secrets.Items), len(cms.Items))
	}
}

func TestRun_KeepResources(t *testing.T) {
	spec := minimalSpec()
	spec.KeepResources = true
	built, _ := BuildJob(spec, contract.ActionCreate)
	c := fakeCluster(append(outputObjects(built.Job.Name, outputs.Harvest{Outputs: []byte(`{}`)}), finishedPod(built.Job.Name, corev1.PodSucceeded, 0))...)
	if _, err := runWithTimeout(t, &Executor{Client: c}, spec); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BatchV1().Jobs("ns").Get(context.Background(), built.Job.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("job was not kept: %v", err)
	}
}

func TestRun_FailedRunnerCarriesErrorFile(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	c := fakeCluster(append(outputObjects(built.Job.Name, outputs.Harvest{ErrorText: "it broke"}), finishedPod(built.Job.Name, corev1.PodFailed, 4))...)
	_, err := runWithTimeout(t, &Executor{Client: c}, spec)
	var re *RunError
	if !errors.As(err, &re) {
		t.Fatalf("got %v", err)
	}
	if re.Container != "runner" || re.ExitCode == nil || *re.ExitCode != 4 || re.ErrorFile != "it broke" || re.JobName != built.Job.Name {
		t.Errorf("run error %+v", re)
	}
}

func TestRun_FailsFastOnImagePull(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	pod := finishedPod(built.Job.Name, corev1.PodPending, 0)
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "not found"}}
	c := fakeCluster(pod)
	start := time.Now()
	_, err := runWithTimeout(t, &Executor{Client: c}, spec)
	var re *RunError
	if !errors.As(err, &re) || re.Reason != "ImagePullBackOff" || re.Container != "runner" {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestRun_FailedCreateEvent(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "ns"},
		InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: built.Job.Name, Namespace: "ns"},
		Reason:         "FailedCreate", Message: `pods "x" is forbidden: violates PodSecurity "restricted:latest"`,
	}
	c := fakeCluster(ev)
	_, err := runWithTimeout(t, &Executor{Client: c}, spec)
	var re *RunError
	if !errors.As(err, &re) || re.Reason != "FailedCreate" || !strings.Contains(re.Message, "PodSecurity") {
		t.Fatalf("got %v", err)
	}
}

func TestRun_Preflight(t *testing.T) {
	c := fake.NewClientset()
	_, err := runWithTimeout(t, &Executor{Client: c}, minimalSpec())
	var re *RunError
	if !errors.As(err, &re) || re.Reason != "NamespaceNotFound" {
		t.Fatalf("got %v", err)
	}
	c = fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})
	_, err = runWithTimeout(t, &Executor{Client: c}, minimalSpec())
	if !errors.As(err, &re) || re.Reason != "ServiceAccountNotFound" {
		t.Fatalf("got %v", err)
	}
	if n := len(c.Actions()); n > 3 { // the server version, the namespace, the service account
		t.Errorf("a failed preflight still made %d calls: %v", n, c.Actions())
	}
}

// The service account is read first: when it exists, so does its namespace, and the
// namespace is not read (issue 21: one request fewer per run). When it is missing or may
// not be read, the namespace is read, and the answer is what it was.
func TestMissingTarget_ReadsTheNamespaceOnlyWhenNeeded(t *testing.T) {
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner", Namespace: "ns"}}
	forbidSA := func(c *fake.Clientset) {
		c.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(corev1.Resource("serviceaccounts"), "runner", errors.New("no"))
		})
	}
	for _, c := range []struct {
		name  string
		objs  []runtime.Object
		setup func(*fake.Clientset)
		want  string
		reads string
	}{
		{"both exist", []runtime.Object{nsObj, sa}, nil, "", "serviceaccounts"},
		{"no service account", []runtime.Object{nsObj}, nil, `service account "runner" of namespace "ns"`, "serviceaccounts namespaces"},
		{"no namespace", nil, nil, `namespace "ns"`, "serviceaccounts namespaces"},
		{"service account not readable", []runtime.Object{nsObj}, forbidSA, "", "serviceaccounts namespaces"},
		{"service account not readable, no namespace", nil, forbidSA, `namespace "ns"`, "serviceaccounts namespaces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := fake.NewClientset(c.objs...)
			if c.setup != nil {
				c.setup(cl)
			}
			if got := (&Executor{Client: cl}).MissingTarget(context.Background(), minimalSpec()); got != c.want {
				t.Errorf("missing %q, want %q", got, c.want)
			}
			var reads []string
			for _, a := range cl.Actions() {
				reads = append(reads, a.GetResource().Resource)
			}
			if got := strings.Join(reads, " "); got != c.reads {
				t.Errorf("read %q, want %q", got, c.reads)
			}
		})
	}
}

func TestRun_ReattachCreatesNothing(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	job := built.Job.DeepCopy()
	objs := append(outputObjects(job.Name, outputs.Harvest{Outputs: []byte(`{"x":"y"}`)}), job, finishedPod(job.Name, corev1.PodSucceeded, 0))
	for _, sec := range built.Secrets { // what the crashed attempt created before its Job
		objs = append(objs, sec)
	}
	c := fakeCluster(objs...)
	if _, err := runWithTimeout(t, &Executor{Client: c}, spec); err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Actions() {
		if ca, ok := a.(k8stesting.CreateAction); ok {
			t.Errorf("re-attach created %s %s", ca.GetResource().Resource, ca.GetObject())
		}
	}
}

// With keep_job, a kept Job of an earlier run with the same inputs (A, then B, then A
// again) must not be mistaken for a crashed attempt: its result is outdated.
func TestRun_KeptEarlierJobIsNotReattached(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	old := built.Job.DeepCopy()
	old.CreationTimestamp = metav1.NewTime(time.Now().Add(-2 * time.Minute))
	later := built.Job.DeepCopy()
	later.Name = "cd-later-create-b"
	later.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Minute))
	later.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
	c := fakeCluster(append(outputObjects(old.Name, outputs.Harvest{Outputs: []byte(`{"x":"y"}`)}), old, later, finishedPod(old.Name, corev1.PodSucceeded, 0))...)
	// The fake does not run the new Job; Run ends when the context does. What matters is
	// that it created a Job rather than returning the kept one's outputs.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	res, err := (&Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
	if err == nil {
		t.Fatalf("returned the kept Job's outputs %v instead of running again", res.Outputs)
	}
	created := false
	for _, a := range c.Actions() {
		if ca, ok := a.(k8stesting.CreateAction); ok && ca.GetResource().Resource == "jobs" {
			created = true
		}
	}
	if !created {
		t.Error("no new Job was created")
	}
}

// A Job the API refuses leaves none of the objects made for it behind.
func TestRun_RefusedJobLeavesNothing(t *testing.T) {
	c := fakeCluster()
	c.PrependReactor("create", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New(`Job.batch "x" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always"`)
	})
	spec := minimalSpec()
	spec.Files = map[string]string{"a": "b"}
	if _, err := runWithTimeout(t, &Executor{Client: c}, spec); err == nil || !strings.Contains(err.Error(), "restartPolicy") {
		t.Fatalf("got %v", err)
	}
	secrets, err := c.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cms, err := c.CoreV1().ConfigMaps("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items)+len(cms.Items) != 0 {
		t.Errorf("left behind: %d secrets, %d configmaps", len(secrets.Items), len(cms.Items))
	}
}

// A Secret the API refuses (an input over its size limit, a quota on Secrets) leaves
// neither the Job nor the objects created before it (issue 9, defect 9); those that were
// created were owned by the Job from the start.
func TestRun_RefusedSecretLeavesNothing(t *testing.T) {
	c := fakeCluster()
	created := 0
	c.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		created++
		if created == 2 {
			return true, nil, errors.New(`Secret "x" is invalid: data: Too long: must have at most 1048576 bytes`)
		}
		s := a.(k8stesting.CreateAction).GetObject().(*corev1.Secret)
		if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Job" {
			t.Errorf("secret %s created without its Job as owner: %v", s.Name, s.OwnerReferences)
		}
		return false, nil, nil
	})
	spec := minimalSpec()
	spec.SecretFiles = map[string]string{"a": "file-secret"}
	spec.Job.SecretVariables = map[string]string{"K": "variable-secret"}
	if _, err := runWithTimeout(t, &Executor{Client: c}, spec); err == nil || !strings.Contains(err.Error(), "Too long") {
		t.Fatalf("got %v", err)
	}
	secrets, err := c.CoreV1().Secrets("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := c.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets.Items)+len(jobs.Items) != 0 {
		t.Errorf("left behind: %d secrets, %d jobs", len(secrets.Items), len(jobs.Items))
	}
}

// Outputs written by a sidecar of another contract version are refused with an error that
// names the setting to fix (issue 12: provider and sidecars speak one contract).
func TestRun_SidecarContractMismatch(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	name := built.Job.Name
	objs := outputObjects(name, outputs.Harvest{Outputs: []byte(`{"a":"1"}`)})
	for _, o := range objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Data[contract.KeyContractVersion] != "" {
			cm.Data[contract.KeyContractVersion] = "99"
		}
	}
	c := fakeCluster(append(objs, finishedPod(name, corev1.PodSucceeded, 0))...)
	_, err := runWithTimeout(t, &Executor{Client: c}, spec)
	var re *RunError
	if !errors.As(err, &re) || re.Reason != ReasonContractMismatch {
		t.Fatalf("got %v, want %s", err, ReasonContractMismatch)
	}
	for _, want := range []string{"version 99", "sidecar_image", "CONTAINERDRIVER_SIDECAR_IMAGE"} {
		if !strings.Contains(re.Message, want) {
			t.Errorf("message lacks %q: %s", want, re.Message)
		}
	}
}
