package testcluster

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

// The Recorder on a fake clientset: what it saw stays, selected by labels.

func TestRecorder_KeepsWhatWasDeleted(t *testing.T) {
	job := func(name string, created time.Time, l map[string]string) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(created), Labels: l}}
	}
	t0 := time.Unix(1000, 0)
	c := fake.NewClientset(
		job("b-create", t0, map[string]string{"run": "1", "action": "create"}),
		job("a-destroy", t0.Add(time.Minute), map[string]string{"run": "1", "action": "destroy"}),
		job("other", t0, map[string]string{"run": "2"}),
		&batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other-ns", UID: "uid-elsewhere", Labels: map[string]string{"run": "1"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-p", Labels: map[string]string{"run": "1"}}},
	)
	r := Record(t, c, "ns")
	if err := c.BatchV1().Jobs("ns").Delete(context.Background(), "a-destroy", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	late := job("c-late", t0.Add(2*time.Minute), map[string]string{"run": "1", "action": "create"})
	if _, err := c.BatchV1().Jobs("ns").Create(context.Background(), late, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(r.Jobs(map[string]string{"run": "1"})) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, tc := range []struct {
		sel  map[string]string
		want string
	}{
		{map[string]string{"run": "1"}, "a-destroy b-create c-late"},
		{map[string]string{"run": "1", "action": "create"}, "b-create c-late"},
		{map[string]string{"run": "2"}, "other"},
		{nil, "a-destroy b-create c-late other"},
		{map[string]string{"run": "3"}, ""},
	} {
		if got := strings.Join(r.Jobs(tc.sel), " "); got != tc.want {
			t.Errorf("Jobs(%v) = %q, want %q", tc.sel, got, tc.want)
		}
	}
	var specs []string
	for _, j := range r.JobSpecs(map[string]string{"run": "1"}) {
		specs = append(specs, j.Name)
	}
	// Oldest first, not by name.
	if got := strings.Join(specs, " "); got != "b-create a-destroy c-late" {
		t.Errorf("JobSpecs = %q", got)
	}
	if got := r.Pods(map[string]string{"run": "1"}); len(got) != 1 || got[0] != "p" {
		t.Errorf("Pods = %v", got)
	}
}

func TestMatches(t *testing.T) {
	labels := map[string]string{"a": "1", "b": "2"}
	for _, tc := range []struct {
		sel  map[string]string
		want bool
	}{
		{nil, true},
		{map[string]string{"a": "1"}, true},
		{map[string]string{"a": "1", "b": "2"}, true},
		{map[string]string{"a": "2"}, false},
		{map[string]string{"c": ""}, true},  // an absent label reads as empty
		{map[string]string{"a": ""}, false}, // a label set is not empty
		{map[string]string{"a": "1", "c": "3"}, false},
	} {
		if got := matches(labels, tc.sel); got != tc.want {
			t.Errorf("matches(%v) = %v, want %v", tc.sel, got, tc.want)
		}
	}
}
