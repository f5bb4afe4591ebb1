package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func TestNewObjects_AndMentions(t *testing.T) {
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
