package bench

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The many-run rows compare like with like: the runs' runner requests what a bare pod
// requests (nothing), their pod keeps outputs-fetcher's default request, and the control
// pods' sidecar requests what outputs-fetcher requests.
func TestManyRunsRequests(t *testing.T) {
	spec := &containerdriver.RunSpec{
		RunID: "run-1",
		Job: containerdriver.JobSpec{
			Image: "example.local/runner:1", SharedDirectory: "/workspace", ServiceAccount: "runner", Namespace: "ns",
			PodTemplates: []string{manyRunsTemplate},
		},
		SidecarImage: "example.local/sidecar:1",
	}
	built, err := containerdriver.BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("the bench's pod_template: %v", err)
	}
	pod := built.Job.Spec.Template.Spec
	requests := map[string]resource.Quantity{}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		requests[c.Name] = c.Resources.Requests[corev1.ResourceMemory]
	}
	if q := requests[contract.ContainerRunner]; !q.IsZero() {
		t.Errorf("the runner requests %s, want 0 (what the bare pods request)", q.String())
	}
	fetcher := requests[contract.ContainerOutputsFetcher]
	if fetcher.Cmp(resource.MustParse(sidecarRequest)) != 0 {
		t.Errorf("outputs-fetcher requests %s in the run's pod, the control's sidecar %s: they must be the same", fetcher.String(), sidecarRequest)
	}

	b := &bench{img: "example.local/noop:1"}
	if _, ok := b.podSpec(false)["initContainers"]; ok {
		t.Error("a bare pod has init containers")
	}
	side, ok := b.podSpec(true)["initContainers"].([]any)
	if !ok || len(side) != 1 {
		t.Fatalf("the control pod's init containers: %#v", b.podSpec(true)["initContainers"])
	}
	c := side[0].(map[string]any)
	if c["name"] != contract.ContainerOutputsFetcher || c["restartPolicy"] != "Always" || c["image"] != b.img {
		t.Errorf("the control's sidecar is not a native sidecar of the no-op image named as the run's: %#v", c)
	}
	if args, _ := c["args"].([]string); len(args) != 1 || args[0] != "sidecar" {
		t.Errorf("the control's sidecar args = %#v, want [sidecar] (noop waits for SIGTERM)", c["args"])
	}
}

// lastSucceeded is the latest end among a set's pods, and only once all n ended.
func TestLastSucceeded(t *testing.T) {
	tr := &tracker{pods: map[types.UID]*podTrace{}}
	pod := func(name, set string, phase corev1.PodPhase) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(name), Labels: map[string]string{labelBenchSet: set}},
			Status:     corev1.PodStatus{Phase: phase},
		}
	}
	tr.onPod(pod("a", "s", corev1.PodSucceeded), false)
	tr.onPod(pod("other", "t", corev1.PodSucceeded), false)
	tr.onPod(pod("b", "s", corev1.PodRunning), false)
	if _, n := tr.lastOfSet("s"); n != 1 {
		t.Fatalf("%d pods of s ended, want 1", n)
	}
	before := time.Now()
	tr.onPod(pod("b", "s", corev1.PodSucceeded), false)
	last, ok := tr.lastSucceeded("s", 2)
	if !ok || last.Before(before) {
		t.Errorf("lastSucceeded = %v, %v: want the end of b (after %v)", last, ok, before)
	}
	if _, ok := tr.lastOfSet("s"); ok != 2 {
		t.Errorf("%d pods of s ended, want 2", ok)
	}
}

// The page shows both parallelism settings at every size asked for, the control rows, and
// what kubectl wait added to the bare pods.
func TestPageScale(t *testing.T) {
	r := &results{
		Rounds: 1, ScaleRounds: 1, Scales: []int{50, 200}, ParallelAts: []int{50, 200},
		Samples: map[string][]float64{
			rowBarePod: {2}, rowJobScript: {3}, rowEmptyApply: {0.5}, rowCreate: {2.5}, rowUpdate: {2.5}, rowDestroy: {2.5},
			rowPods(50): {10}, rowPodsSidecar(50): {15}, rowRuns(50): {18}, rowRunsAt(50, 10): {30},
			rowPods(200): {40}, rowPodsSidecar(200): {60}, rowRuns(200): {66}, rowRunsAt(200, 10): {120},
		},
		KubectlWait: map[string][]float64{rowPods(50): {1.5}, rowPods(200): {6, 8, 7}},
		Timelines: map[string]*timeline{
			rowPodsSidecar(200): {Order: []string{msCommandStart, msCommandEnd}, Phase: map[string][]float64{msCommandEnd: {60}}, Offset: map[string][]float64{msCommandEnd: {60}}, Pods: 200},
			rowRuns(200):        {Order: []string{msCommandStart, msCommandEnd}, Phase: map[string][]float64{msCommandEnd: {66}}, Offset: map[string][]float64{msCommandEnd: {66}}, Pods: 200},
		},
	}
	page := r.page(t.TempDir())
	for _, want := range []string{
		"| 50 (`-parallelism=10`, Terraform's default) | 30.00 s | 10.00 s | 3.00x |",
		"| 200 (`-parallelism=10`, Terraform's default) | 120.00 s | 40.00 s | 3.00x |",
		"returned 1.50 s at 50 pods, 7.00 s at 200 pods later (medians)",
		"| 50 | 10.00 s | 15.00 s | 1.50x | 1.20x |",
		"| 200 | 40.00 s | 60.00 s | 1.50x | 1.10x |",
		"### 200 bare pods with a native sidecar (the control), next to 200 bare pods",
		"| phase: from | to | with a sidecar: median | p90 | last | bare pods: from |",
		"### 200 runs in one apply, next to 200 bare pods with a native sidecar",
		"| phase: from | to | runs: median | p90 | last | with a sidecar: from |",
		"| command started | command ended | 66.00 s | 66.00 s | 66.00 s | command started | 60.00 s |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	// Results of an older bench name one size in ParallelAt.
	r.ParallelAts, r.ParallelAt = nil, 200
	page = r.page(t.TempDir())
	if strings.Contains(page, "| 50 (`-parallelism=10`") || !strings.Contains(page, "| 200 (`-parallelism=10`, Terraform's default) |") {
		t.Errorf("older results (ParallelAt 200) should show the default parallelism at 200 only:\n%s", page)
	}
}
