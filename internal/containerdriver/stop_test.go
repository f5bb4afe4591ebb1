package containerdriver

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A run whose pod has ended when the caller's deadline passes is recorded, not stopped
// and reported as timed out: running it again would be the worse outcome.
func TestStop_EndedAsTheDeadlinePassedIsHarvested(t *testing.T) {
	spec := minimalSpec()
	built, _ := BuildJob(spec, contract.ActionCreate)
	name := built.Job.Name
	c := fakeCluster(append(outputObjects(name, outputs.Harvest{Outputs: []byte(`{"a":"1"}`)}), finishedPod(name, corev1.PodSucceeded, 0))...)
	e := &Executor{Client: c}
	w := &podWatch{e: e, spec: spec, ns: "ns", red: newRedactor(spec), streaming: map[string]bool{}, logs: &sync.WaitGroup{},
		lastState: map[string]string{}, pulls: map[string]int{}, pullSeen: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the caller gave up before the watch saw the pod end
	res, err := e.stop(ctx, w, jobKey{Name: name}, time.Second, spec, RunError{Namespace: "ns", JobName: name, Action: contract.ActionCreate})
	if err != nil {
		t.Fatalf("got %v, want the finished run's result", err)
	}
	if res.Outputs["a"] != "1" {
		t.Errorf("outputs %v", res.Outputs)
	}
	pods, err := c.CoreV1().Pods("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 {
		t.Errorf("the finished pod was deleted: %d left", len(pods.Items))
	}
}
