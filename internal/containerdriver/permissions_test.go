package containerdriver

import (
	"context"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// answerReviews makes the fake API server answer SubjectAccessReviews with answer, and
// records what was asked.
func answerReviews(c *fake.Clientset, answer func(*authorizationv1.LocalSubjectAccessReview) (bool, error)) *[]authorizationv1.SubjectAccessReviewSpec {
	var asked []authorizationv1.SubjectAccessReviewSpec
	c.PrependReactor("create", "localsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.LocalSubjectAccessReview).DeepCopy()
		asked = append(asked, r.Spec)
		ok, err := answer(r)
		if err != nil {
			return true, nil, err
		}
		r.Status.Allowed = ok
		return true, r, nil
	})
	return &asked
}

// createdInitContainers runs spec on c and returns the names of the init containers of the
// Job it created (the Job is kept).
func createdInitContainers(t *testing.T, c *fake.Clientset, spec *RunSpec) []string {
	t.Helper()
	spec.KeepResources = true
	built, _ := BuildJob(spec, contract.ActionCreate)
	for _, o := range append(outputObjects(built.Job.Name, outputs.Harvest{Outputs: []byte(`{}`)}), finishedPod(built.Job.Name, corev1.PodSucceeded, 0)) {
		if err := c.Tracker().Add(o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := runWithTimeout(t, &Executor{Client: c}, spec); err != nil {
		t.Fatal(err)
	}
	job, err := c.BatchV1().Jobs("ns").Get(context.Background(), built.Job.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ic := range job.Spec.Template.Spec.InitContainers {
		names = append(names, ic.Name)
	}
	return names
}

func has(names []string, n string) bool {
	for _, x := range names {
		if x == n {
			return true
		}
	}
	return false
}

// When the API server tells the provider that the run's service account has the rights
// pre-checks would check, the pod starts without pre-checks; when any is denied, or the
// provider may not ask, pre-checks stays and reports the denial as before (issue 21).
func TestRun_ProviderChecksPermissions(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		c := fakeCluster()
		asked := answerReviews(c, func(*authorizationv1.LocalSubjectAccessReview) (bool, error) { return true, nil })
		spec := minimalSpec()
		spec.State = &StateSpec{Path: "/state"}
		if ics := createdInitContainers(t, c, spec); has(ics, contract.ContainerPreChecks) {
			t.Errorf("init containers %v: pre-checks was not dropped", ics)
		}
		want := map[string]bool{}
		for _, p := range runPermissions(spec) {
			want[p.Verb+" "+p.Resource] = true
		}
		for _, a := range *asked {
			if a.User != "system:serviceaccount:ns:runner" || a.ResourceAttributes.Namespace != "ns" {
				t.Errorf("asked about %s in %s", a.User, a.ResourceAttributes.Namespace)
			}
			delete(want, a.ResourceAttributes.Verb+" "+a.ResourceAttributes.Resource)
		}
		if len(want) != 0 || len(*asked) != 6 {
			t.Errorf("not asked: %v; asked %d reviews", want, len(*asked))
		}
	})
	t.Run("one denied", func(t *testing.T) {
		c := fakeCluster()
		answerReviews(c, func(r *authorizationv1.LocalSubjectAccessReview) (bool, error) {
			return r.Spec.ResourceAttributes.Resource != "secrets", nil
		})
		if ics := createdInitContainers(t, c, minimalSpec()); !has(ics, contract.ContainerPreChecks) {
			t.Errorf("init containers %v: pre-checks must stay to report the denial", ics)
		}
	})
	t.Run("provider may not ask", func(t *testing.T) {
		c := fakeCluster()
		answerReviews(c, func(*authorizationv1.LocalSubjectAccessReview) (bool, error) {
			return false, apierrors.NewForbidden(schema.GroupResource{Group: "authorization.k8s.io", Resource: "localsubjectaccessreviews"}, "", nil)
		})
		if ics := createdInitContainers(t, c, minimalSpec()); !has(ics, contract.ContainerPreChecks) {
			t.Errorf("init containers %v: pre-checks must stay", ics)
		}
	})
	t.Run("skip_permission_checks asks nothing", func(t *testing.T) {
		c := fakeCluster()
		asked := answerReviews(c, func(*authorizationv1.LocalSubjectAccessReview) (bool, error) { return true, nil })
		spec := minimalSpec()
		spec.SkipPermissionChecks = true
		if ics := createdInitContainers(t, c, spec); has(ics, contract.ContainerPreChecks) {
			t.Errorf("init containers %v", ics)
		}
		if len(*asked) != 0 {
			t.Errorf("asked %d reviews", len(*asked))
		}
	})
}
