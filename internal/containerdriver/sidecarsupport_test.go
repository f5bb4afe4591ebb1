package containerdriver

import (
	"context"
	"errors"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	apiversion "k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

func TestSidecarSupportOf(t *testing.T) {
	for _, c := range []struct {
		info *apiversion.Info
		want sidecarSupport
	}{
		{&apiversion.Info{Major: "1", Minor: "27", GitVersion: "v1.27.16"}, sidecarsUnsupported},
		{&apiversion.Info{Major: "1", Minor: "25+", GitVersion: "v1.25.16-eks-3af4770"}, sidecarsUnsupported},
		{&apiversion.Info{Major: "1", Minor: "28", GitVersion: "v1.28.15"}, sidecarsUnknown}, // the feature gate decides
		{&apiversion.Info{Major: "1", Minor: "29", GitVersion: "v1.29.0"}, sidecarsSupported},
		{&apiversion.Info{Major: "1", Minor: "33", GitVersion: "v1.33.5+k3s1"}, sidecarsSupported},
		{&apiversion.Info{Major: "1", Minor: "37", GitVersion: "v1.37.2"}, sidecarsSupported},
		{&apiversion.Info{Major: "1", Minor: "26+", GitVersion: "not-a-version"}, sidecarsUnsupported}, // major and minor then
		{&apiversion.Info{GitVersion: "v0.0.0-master+$Format:%H$"}, sidecarsUnknown},                   // client-go's unset version
		{&apiversion.Info{GitVersion: "garbage"}, sidecarsUnknown},
		{nil, sidecarsUnknown},
	} {
		if got, _ := sidecarSupportOf(c.info); got != c.want {
			t.Errorf("%+v: got %d, want %d", c.info, got, c.want)
		}
	}
}

// A cluster older than 1.28 fails the run before anything is created, with the reason
// and the fix, instead of a pod that waits for its timeout.
func TestRun_NativeSidecarsUnsupportedVersion(t *testing.T) {
	c := fakeCluster()
	c.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &apiversion.Info{Major: "1", Minor: "27", GitVersion: "v1.27.3"}
	_, err := runWithTimeout(t, &Executor{Client: c}, minimalSpec())
	var re *RunError
	if !errors.As(err, &re) || re.Reason != ReasonNativeSidecarsUnsupported || !strings.Contains(re.Message, "1.27.3") ||
		!strings.Contains(re.Message, "upgrade the cluster to Kubernetes 1.29 or later") {
		t.Fatalf("got %v, want a %s error naming the version and the fix", err, ReasonNativeSidecarsUnsupported)
	}
	for _, a := range c.Actions() {
		if a.GetVerb() == "create" {
			t.Errorf("created %s on a cluster without native sidecars", a.GetResource().Resource)
		}
	}
}

// A server that drops the init container's restartPolicy (its SidecarContainers feature
// off) is found from the Job it stored: the Job is deleted, in the foreground, before its
// inputs exist, so no container of its pod ever starts, and the run fails with the
// reason, not at its timeout.
func TestRun_NativeSidecarsDroppedByAPI(t *testing.T) {
	c := fakeCluster()
	c.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &apiversion.Info{Major: "1", Minor: "28", GitVersion: "v1.28.4"}
	c.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
		job := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job)
		for i := range job.Spec.Template.Spec.InitContainers {
			job.Spec.Template.Spec.InitContainers[i].RestartPolicy = nil // what a server without the feature stores
		}
		return false, nil, nil
	})
	_, err := runWithTimeout(t, &Executor{Client: c}, minimalSpec())
	var re *RunError
	if !errors.As(err, &re) || re.Reason != ReasonNativeSidecarsUnsupported || re.Container != contract.ContainerOutputsFetcher ||
		!strings.Contains(re.Message, "SidecarContainers") || re.Action != contract.ActionCreate {
		t.Fatalf("got %v, want a %s error on outputs-fetcher", err, ReasonNativeSidecarsUnsupported)
	}
	jobs, err := c.BatchV1().Jobs("ns").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Errorf("the Job was left behind: %v", jobs.Items[0].Name)
	}
	foreground := false
	for _, a := range c.Actions() {
		if d, ok := a.(k8stesting.DeleteAction); ok && d.GetResource().Resource == "jobs" {
			foreground = foreground || ptr.Deref(d.GetDeleteOptions().PropagationPolicy, "") == metav1.DeletePropagationForeground
		}
	}
	if !foreground {
		t.Error("the Job was not deleted in the foreground: its pod (which started nothing) could outlive the run")
	}
	for _, a := range c.Actions() {
		// Access reviews (the provider's permission check, made while the Job is created)
		// are questions, not objects: the API server stores nothing for them.
		if r := a.GetResource().Resource; a.GetVerb() == "create" && r != "jobs" && r != "localsubjectaccessreviews" {
			t.Errorf("created %s after the API dropped the sidecar", r)
		}
	}
}
