package containerdriver

import (
	"context"
	"sync"

	authorizationv1 "k8s.io/api/authorization/v1"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Permission checks off the critical path (issue 21).
//
// The pre-checks init container asks the API server whether the run's service account has
// the rights outputs-fetcher (and, with a state directory, state-restore) need, and fails
// the run with a clear message before the runner starts when it has not. Being one more
// container that starts after the one before it, it cost about a third of a create. The
// provider now asks the same questions itself, as SubjectAccessReviews about the service
// account (LocalSubjectAccessReviews in the run's namespace), at the same time as its other
// preflight reads: when every answer is "allowed", the Job is made without pre-checks. When
// one is denied, or the provider may not ask (its credentials lack create on
// localsubjectaccessreviews there) or the API server cannot answer,
// the pre-checks container stays, and a denial fails exactly as before, with its message
// naming the missing rights and the Role that grants them. Nothing is remembered between
// runs: rights withdrawn between two runs are seen by the second.

// checkPermissions asks, in parallel, whether the service account sa of namespace ns has
// perms, and reports true only when every answer is a definite "allowed".
func (e *Executor) checkPermissions(ctx context.Context, ns, sa string, perms []contract.Permission) bool {
	user := "system:serviceaccount:" + ns + ":" + sa
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	allowed := make([]bool, len(perms))
	var wg sync.WaitGroup
	for i, p := range perms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Client.AuthorizationV1().LocalSubjectAccessReviews(ns).Create(ctx, &authorizationv1.LocalSubjectAccessReview{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns},
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User: user, Groups: groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: p.Verb, Resource: p.Resource},
				},
			}, metav1.CreateOptions{})
			allowed[i] = err == nil && r.Status.Allowed && !r.Status.Denied
		}()
	}
	wg.Wait()
	for _, a := range allowed {
		if !a {
			return false
		}
	}
	return true
}

// runPermissions are the rights pre-checks would check for spec's pod.
func runPermissions(spec *RunSpec) []contract.Permission {
	perms := contract.SidecarPermissions()
	if spec.State != nil {
		perms = append(perms, contract.StatePermissions()...)
	}
	return perms
}

// startPermissionCheck starts the provider-side check of the pod's rights and returns a
// function that waits for its answer. It answers false at once when the Job has no
// pre-checks container (skip_permission_checks): nothing to replace.
func (e *Executor) startPermissionCheck(ctx context.Context, spec *RunSpec, job *batchv1.Job) func() bool {
	if !hasInitContainer(job, contract.ContainerPreChecks) {
		return func() bool { return false }
	}
	sa := job.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	done := make(chan bool, 1)
	go func() { done <- e.checkPermissions(ctx, job.Namespace, sa, runPermissions(spec)) }()
	return func() bool { return <-done }
}

func hasInitContainer(job *batchv1.Job, name string) bool {
	for _, c := range job.Spec.Template.Spec.InitContainers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// dropInitContainer removes the named init container from the Job's pod. The Job's name
// and spec hash stay those of the built Job, so a retry re-attaches to it either way.
func dropInitContainer(job *batchv1.Job, name string) {
	ics := job.Spec.Template.Spec.InitContainers[:0]
	for _, c := range job.Spec.Template.Spec.InitContainers {
		if c.Name != name {
			ics = append(ics, c)
		}
	}
	job.Spec.Template.Spec.InitContainers = ics
}
