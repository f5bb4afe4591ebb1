package main

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

func TestDigestOf_LabelsAndData(t *testing.T) {
	base := digestOf(map[string]string{"a": "1", "b": "2"}, map[string][]byte{"k": []byte("v"), "l": []byte("w")})
	if base != digestOf(map[string]string{"b": "2", "a": "1"}, map[string][]byte{"l": []byte("w"), "k": []byte("v")}) {
		t.Error("the same object gives another digest")
	}
	for name, other := range map[string]string{
		"label value":              digestOf(map[string]string{"a": "1", "b": "3"}, map[string][]byte{"k": []byte("v"), "l": []byte("w")}),
		"label gone":               digestOf(map[string]string{"a": "1"}, map[string][]byte{"k": []byte("v"), "l": []byte("w")}),
		"data value":               digestOf(map[string]string{"a": "1", "b": "2"}, map[string][]byte{"k": []byte("v"), "l": []byte("x")}),
		"data key":                 digestOf(map[string]string{"a": "1", "b": "2"}, map[string][]byte{"k": []byte("v"), "m": []byte("w")}),
		"bytes moved between keys": digestOf(map[string]string{"a": "1", "b": "2"}, map[string][]byte{"k": []byte("vw"), "l": []byte("")}),
		"data as a label":          digestOf(map[string]string{"a": "1", "b": "2", "k": "v"}, map[string][]byte{"l": []byte("w")}),
	} {
		if other == base {
			t.Errorf("a changed %s keeps the digest", name)
		}
	}
}

// Lengths are part of the digest: a value that holds what would be the next key's
// header is not the same object as the two keys.
func TestDigestOf_ValueCannotForgeAKey(t *testing.T) {
	two := digestOf(nil, map[string][]byte{"k": []byte("x"), "l": []byte("y")})
	one := digestOf(nil, map[string][]byte{"k": []byte(`x` + `data "l":` + `y`)})
	if one == two {
		t.Error("one key whose value holds a key header digests as two keys")
	}
}

func TestStateChanges_NamesObjectsOnly(t *testing.T) {
	before := map[string]string{"Secret a": "1", "Secret b": "2", "ConfigMap c": "3"}
	after := map[string]string{"Secret a": "1", "Secret b": "9", "ConfigMap d": "4"}
	want := []string{"ConfigMap c was deleted", "ConfigMap d was created", "Secret b was changed"}
	if d := cmp.Diff(want, stateChanges(before, after)); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if got := stateChanges(before, before); len(got) != 0 {
		t.Errorf("no change: %v", got)
	}
}

func TestStateObjects_LeavesOutTheDriversOwn(t *testing.T) {
	c := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tfstate-default-state", Namespace: "ns"}, Data: map[string][]byte{"tfstate": []byte("x")}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "job-out", Namespace: "ns", Labels: map[string]string{contract.LabelJob: "job"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cd-plan-x", Namespace: "ns", Labels: map[string]string{contract.LabelPlanID: "x"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "other"}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "lock", Namespace: "ns"}, Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {1}}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "job-files", Namespace: "ns", Labels: map[string]string{contract.LabelJob: "job"}}},
	)
	got, err := stateObjects(context.Background(), c, "ns")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for k := range got {
		names = append(names, k)
	}
	sort.Strings(names)
	if d := cmp.Diff([]string{"ConfigMap lock", "Secret tfstate-default-state"}, names); d != "" {
		t.Errorf("objects (-want +got)\n%s", d)
	}
	if got["ConfigMap lock"] != digestOf(nil, map[string][]byte{"k": []byte("v"), "binary:b": {1}}) {
		t.Error("the ConfigMap's digest does not cover its data and binary data")
	}
	if d := got["Secret tfstate-default-state"]; d != digestOf(nil, map[string][]byte{"tfstate": []byte("x")}) || strings.Contains(d, "tfstate") {
		t.Errorf("secret digest %q", d)
	}
}
