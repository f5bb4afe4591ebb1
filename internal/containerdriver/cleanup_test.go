package containerdriver

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// jobAndObjects is a Job of a run with an input Secret, an input ConfigMap and a pod.
func jobAndObjects(runID, job string) []runtime.Object {
	return []runtime.Object{
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: job, Namespace: "ns", Labels: map[string]string{
			contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: runLabel(runID)}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: job + "-env", Namespace: "ns", Labels: map[string]string{contract.LabelJob: job}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: job + "-files", Namespace: "ns", Labels: map[string]string{contract.LabelJob: job}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job + "-abcde", Namespace: "ns", Labels: map[string]string{batchv1.JobNameLabel: job}}},
	}
}

// namesIn lists what is left in namespace ns, as kind/name, sorted.
func namesIn(t *testing.T, c *fake.Clientset) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	jobs, err := c.BatchV1().Jobs("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range jobs.Items {
		out = append(out, "job/"+o.Name)
	}
	secrets, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets.Items {
		out = append(out, "secret/"+o.Name)
	}
	cms, err := c.CoreV1().ConfigMaps("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range cms.Items {
		out = append(out, "configmap/"+o.Name)
	}
	pods, err := c.CoreV1().Pods("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range pods.Items {
		out = append(out, "pod/"+o.Name)
	}
	sort.Strings(out)
	return out
}

func TestCleanup_DeletesTheJobAndItsObjectsOnly(t *testing.T) {
	objs := append(jobAndObjects("run-1", "job-a"), jobAndObjects("run-1", "job-b")...)
	c := fakeCluster(objs...)
	if err := (&Executor{Client: c}).Cleanup(context.Background(), "ns", "job-a"); err != nil {
		t.Fatal(err)
	}
	want := []string{"configmap/job-b-files", "job/job-b", "pod/job-b-abcde", "secret/job-b-env"}
	if got := namesIn(t, c); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("left %v, want %v", got, want)
	}
	// Again: everything is gone already, which is no error.
	if err := (&Executor{Client: c}).Cleanup(context.Background(), "ns", "job-a"); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

func TestCleanup_GoesOnAfterAFailedDelete(t *testing.T) {
	c := fakeCluster(jobAndObjects("run-1", "job-a")...)
	c.PrependReactor("delete", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("secrets are not deletable here")
	})
	err := (&Executor{Client: c}).Cleanup(context.Background(), "ns", "job-a")
	if err == nil || !strings.Contains(err.Error(), "secrets are not deletable here") {
		t.Fatalf("err %v, want the failed secret delete", err)
	}
	// The other objects are deleted all the same.
	if got := namesIn(t, c); strings.Join(got, " ") != "secret/job-a-env" {
		t.Errorf("left %v, want only the secret that could not be deleted", got)
	}
}

func TestForceCleanup_EverythingOfTheRun(t *testing.T) {
	spec := minimalSpec()
	objs := append(jobAndObjects(spec.RunID, "job-a"), jobAndObjects(spec.RunID, "job-b")...)
	objs = append(objs, jobAndObjects("run-2", "job-c")...)
	objs = append(objs,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: statedir.HeadName(spec.RunID), Namespace: "ns"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: statedir.HeadName("run-2"), Namespace: "ns"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: writeonly.SecretName(spec.RunID), Namespace: "ns"}},
	)
	c := fakeCluster(objs...)
	if err := (&Executor{Client: c}).ForceCleanup(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	want := []string{"configmap/job-c-files", "job/job-c", "pod/job-c-abcde", "secret/" + statedir.HeadName("run-2"), "secret/job-c-env"}
	sort.Strings(want)
	if got := namesIn(t, c); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("left %v\nwant %v", got, want)
	}
}

func TestForceCleanup_ListFails(t *testing.T) {
	c := fakeCluster(jobAndObjects("run-1", "job-a")...)
	c.PrependReactor("list", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("forbidden")
	})
	err := (&Executor{Client: c}).ForceCleanup(context.Background(), minimalSpec())
	if err == nil || !strings.Contains(err.Error(), "list jobs of run run-1: forbidden") {
		t.Fatalf("err %v", err)
	}
	c.ReactionChain = c.ReactionChain[1:] // lists work again, for the check
	if got := namesIn(t, c); len(got) != 4 {
		t.Errorf("deleted without knowing the run's jobs: left %v", got)
	}
}

// A run that knows every object it made (knownObjectsOf) deletes them by name and lists
// no Secret or ConfigMap (issue 21); one whose pod still runs a container lists, since the
// pod may store an object after the names were read.
func TestCleanup_KnownObjectsDeletedByName(t *testing.T) {
	known := &knownObjects{secrets: []string{"job-a-env"}, configMaps: []string{"job-a-files"}}
	listed := func(c *fake.Clientset) (n int) {
		for _, a := range c.Actions() {
			if a.GetVerb() == "list" && (a.GetResource().Resource == "secrets" || a.GetResource().Resource == "configmaps") {
				n++
			}
		}
		return n
	}
	c := fakeCluster(jobAndObjects("run-1", "job-a")...)
	if err := (&Executor{Client: c}).cleanup(context.Background(), "ns", "job-a", known); err != nil {
		t.Fatal(err)
	}
	if n := listed(c); n != 0 {
		t.Errorf("listed Secrets or ConfigMaps %d times with every name known", n)
	}
	if got := namesIn(t, c); len(got) != 0 {
		t.Errorf("left %v", got)
	}

	// The pod still runs outputs-fetcher: it is deleted and waited for, then the objects
	// are listed (a late output Secret is found).
	objs := jobAndObjects("run-1", "job-a")
	pod := objs[3].(*corev1.Pod)
	pod.Status.Phase = corev1.PodRunning
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: contract.ContainerOutputsFetcher, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	late := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "job-a-out-0", Namespace: "ns", Labels: map[string]string{contract.LabelJob: "job-a"}}}
	c = fakeCluster(append(objs, late)...)
	if err := (&Executor{Client: c}).cleanup(context.Background(), "ns", "job-a", known); err != nil {
		t.Fatal(err)
	}
	if n := listed(c); n != 2 {
		t.Errorf("listed Secrets and ConfigMaps %d times with a pod still running, want 2", n)
	}
	if got := namesIn(t, c); len(got) != 0 {
		t.Errorf("left %v", got)
	}

	// The run ended on its outputs (podMayRun): outputs-fetcher, still running, has stored
	// everything, so the pod is deleted at once (grace 0, nothing of it left in the API when
	// Run returns) and the names suffice.
	objs = jobAndObjects("run-1", "job-a")
	pod = objs[3].(*corev1.Pod)
	pod.Status.Phase = corev1.PodRunning
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: contract.ContainerOutputsFetcher, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	c = fakeCluster(objs...)
	early := &knownObjects{secrets: known.secrets, configMaps: known.configMaps, podMayRun: true}
	if err := (&Executor{Client: c}).cleanup(context.Background(), "ns", "job-a", early); err != nil {
		t.Fatal(err)
	}
	if n := listed(c); n != 0 {
		t.Errorf("listed Secrets or ConfigMaps %d times after the run ended on its outputs", n)
	}
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "pods" {
			if g := d.GetDeleteOptions().GracePeriodSeconds; g == nil || *g != 0 {
				t.Errorf("pod deleted with grace %v, want 0 (outputs-fetcher has nothing left to write)", g)
			}
		}
	}
	if got := namesIn(t, c); len(got) != 0 {
		t.Errorf("left %v", got)
	}
}

func TestKnownObjectsOf(t *testing.T) {
	b := &JobObjects{
		Secrets:    []*corev1.Secret{{ObjectMeta: metav1.ObjectMeta{Name: "in-s"}}},
		ConfigMaps: []*corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Name: "in-c"}}},
	}
	complete := &harvestedObjects{secrets: []string{"out-s"}, configMaps: []string{"out-c"}, complete: true}
	got := knownObjectsOf(b, true, contract.ActionCreate, complete)
	if got == nil || strings.Join(got.secrets, ",") != "out-s,in-s" || strings.Join(got.configMaps, ",") != "out-c,in-c" || got.podMayRun {
		t.Errorf("got %+v", got)
	}
	onOutputs := &harvestedObjects{secrets: []string{"out-s"}, configMaps: []string{"out-c"}, complete: true, podMayRun: true}
	if got := knownObjectsOf(b, true, contract.ActionDestroy, onOutputs); got == nil || !got.podMayRun {
		t.Errorf("ended on its outputs: got %+v, want the names and podMayRun", got)
	}
	for name, k := range map[string]*knownObjects{
		"re-attached Job":     knownObjectsOf(b, false, contract.ActionCreate, complete),
		"plan":                knownObjectsOf(b, true, contract.ActionPlan, complete),
		"pod not over before": knownObjectsOf(b, true, contract.ActionDestroy, &harvestedObjects{}),
	} {
		if k != nil {
			t.Errorf("%s: %+v, want nil (list)", name, k)
		}
	}
}

func TestPodFinished(t *testing.T) {
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	ended := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}
	for _, c := range []struct {
		name  string
		phase corev1.PodPhase
		init  []corev1.ContainerStatus
		main  []corev1.ContainerStatus
		want  bool
	}{
		{"all ended", corev1.PodRunning, []corev1.ContainerStatus{{State: ended}}, []corev1.ContainerStatus{{State: ended}}, true},
		{"succeeded", corev1.PodSucceeded, nil, []corev1.ContainerStatus{{State: ended}}, true},
		{"sidecar runs", corev1.PodRunning, []corev1.ContainerStatus{{State: running}}, []corev1.ContainerStatus{{State: ended}}, false},
		{"failed, sidecar still being killed", corev1.PodFailed, []corev1.ContainerStatus{{State: running}}, []corev1.ContainerStatus{{State: ended}}, false},
		{"no status yet", corev1.PodPending, nil, nil, false},
	} {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: c.phase, InitContainerStatuses: c.init, ContainerStatuses: c.main}}
		if got := podFinished(p); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if podFinished(nil) {
		t.Error("nil pod finished")
	}
}

// A run that knows every object it made deletes its Secrets in one deletecollection, and
// its ConfigMaps in another, by a selector that takes exactly its Job's inputs and outputs:
// never another Job's objects, the run's state, its kept write-only secrets, a plan preview
// or the claim key. One object of a kind goes by name. Where the API refuses
// deletecollection, they go by name, and the process does not ask again there.
func TestCleanup_KnownObjectsInOneDeleteCollection(t *testing.T) {
	jobLabels := func(job, role string) map[string]string {
		return map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: "run-1",
			contract.LabelAction: contract.ActionCreate, contract.LabelJob: job, contract.LabelRole: role}
	}
	objects := func() []runtime.Object {
		var objs []runtime.Object
		for _, job := range []string{"job-a", "job-b"} {
			objs = append(objs,
				&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: job, Namespace: "ns", Labels: jobLabels(job, "")}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: job + "-inputs", Namespace: "ns", Labels: jobLabels(job, contract.RoleInputs)}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: job + "-files", Namespace: "ns", Labels: jobLabels(job, contract.RoleFiles)}},
				// What outputs-fetcher stores (internal/outputs): managed-by, job, role, chunk.
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: job + "-secret-outputs-0", Namespace: "ns", Labels: map[string]string{
					contract.LabelManagedBy: contract.ManagedByValue, contract.LabelJob: job, contract.LabelRole: contract.RoleSecretOutputs, contract.LabelChunkIndex: "0"}}},
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: job + "-outputs-0", Namespace: "ns", Labels: map[string]string{
					contract.LabelManagedBy: contract.ManagedByValue, contract.LabelJob: job, contract.LabelRole: contract.RoleOutputs, contract.LabelChunkIndex: "0"}}},
			)
		}
		state := &statedir.Store{Namespace: "ns", RunID: "run-1"}
		objs = append(objs,
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: statedir.HeadName("run-1"), Namespace: "ns", Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelStateOf: contract.ShortHash(state.RunID, 16), contract.LabelRole: contract.RoleStateHead}}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "kept-wo", Namespace: "ns", Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: "run-1", contract.LabelRole: writeonly.Role}}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "preview", Namespace: "ns", Labels: previewLabels("plan-1", "run-1", contract.RolePlanPreview)}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: ClaimKeySecret, Namespace: "ns", Labels: map[string]string{contract.LabelRole: RoleClaimKey}}},
			// Someone else's object that happens to carry the job label.
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "not-ours", Namespace: "ns", Labels: map[string]string{contract.LabelJob: "job-a"}}},
		)
		return objs
	}
	known := &knownObjects{secrets: []string{"job-a-secret-outputs-0", "job-a-inputs"}, configMaps: []string{"job-a-outputs-0", "job-a-files"}}
	want := []string{"configmap/job-b-files", "configmap/job-b-outputs-0", "job/job-b",
		"secret/" + ClaimKeySecret, "secret/" + statedir.HeadName("run-1"), "secret/job-b-inputs", "secret/job-b-secret-outputs-0",
		"secret/kept-wo", "secret/not-ours", "secret/preview"}
	sort.Strings(want)
	count := func(c *fake.Clientset) map[string]int {
		n := map[string]int{}
		for _, a := range c.Actions() {
			if r := a.GetResource().Resource; r == "secrets" || r == "configmaps" {
				n[a.GetVerb()+" "+r]++
			}
		}
		return n
	}

	c := fakeCluster(objects()...)
	if err := (&Executor{Client: c}).cleanup(context.Background(), "ns", "job-a", known); err != nil {
		t.Fatal(err)
	}
	n := count(c)
	if got := namesIn(t, c); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("left %v, want %v", got, want)
	}
	if n["delete-collection secrets"] != 1 || n["delete-collection configmaps"] != 1 || n["delete secrets"] != 0 || n["delete configmaps"] != 0 || n["list secrets"] != 0 {
		t.Errorf("requests %v, want one delete-collection of each kind and nothing else", n)
	}

	// One Secret known, two ConfigMaps: the Secret goes by name.
	c = fakeCluster(objects()...)
	one := &knownObjects{secrets: []string{"job-a-inputs"}, configMaps: known.configMaps}
	if err := (&Executor{Client: c}).cleanup(context.Background(), "ns", "job-a", one); err != nil {
		t.Fatal(err)
	}
	if n := count(c); n["delete secrets"] != 1 || n["delete-collection secrets"] != 0 || n["delete-collection configmaps"] != 1 {
		t.Errorf("requests %v, want the one Secret deleted by name", n)
	}

	// deletecollection refused: by name, and not asked again for the next Job.
	c = fakeCluster(objects()...)
	c.PrependReactor("delete-collection", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: a.GetResource().Resource}, "", errors.New("no deletecollection"))
	})
	e := &Executor{Client: c}
	if err := e.cleanup(context.Background(), "ns", "job-a", known); err != nil {
		t.Fatal(err)
	}
	n = count(c)
	if got := namesIn(t, c); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("refused: left %v, want %v", got, want)
	}
	if n["delete-collection secrets"] != 1 || n["delete secrets"] != 2 {
		t.Errorf("refused: requests %v, want one refused delete-collection of Secrets, then each by name", n)
	}
	before := n
	knownB := &knownObjects{secrets: []string{"job-b-secret-outputs-0", "job-b-inputs"}, configMaps: []string{"job-b-outputs-0", "job-b-files"}}
	if err := e.cleanup(context.Background(), "ns", "job-b", knownB); err != nil {
		t.Fatal(err)
	}
	if n := count(c); n["delete-collection secrets"] != before["delete-collection secrets"] || n["delete-collection configmaps"] != before["delete-collection configmaps"] ||
		n["delete secrets"] != 4 || n["delete configmaps"] != 4 {
		t.Errorf("refused: requests %v, want no delete-collection asked again, every object by name", n)
	}
}
