package containerdriver

import (
	"context"
	"sort"
	"strings"
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
// account (LocalSubjectAccessReviews in the run's namespace), before it creates a new Job,
// at the same time as it waits for an earlier Job of the run to end: when every answer is
// "allowed", the Job is made without pre-checks. When one is denied, or the provider may
// not ask (its credentials lack create on localsubjectaccessreviews there) or the API
// server cannot answer, the pre-checks container stays, and a denial fails exactly as
// before, with its message naming the missing rights and the Role that grants them.
//
// An "allowed" for the whole rule set is remembered for a short while and shared by the
// runs of the same client (remember.go): fifty runs at once with one service account ask
// once. A denial is never remembered.

// checkPermissions asks whether the service account sa of namespace ns has
// perms, and reports true only when every answer is a definite "allowed". remembered is
// true when the answer came from an earlier run's check (remember.go).
func (e *Executor) checkPermissions(ctx context.Context, ns, sa string, perms []contract.Permission) (allowed, remembered bool) {
	allowed, remembered, _ = e.ask(ctx, accountKey{e.Client, ns, sa}, askAllowed+rulesKey(perms), func(ctx context.Context) (bool, error) {
		return e.reviewPermissions(ctx, ns, sa, perms), nil
	})
	return allowed, remembered
}

// rulesKey names a rule set, whatever the order of its rules.
func rulesKey(perms []contract.Permission) string {
	rules := make([]string, 0, len(perms))
	for _, p := range perms {
		rules = append(rules, p.Verb+" "+p.Resource)
	}
	sort.Strings(rules)
	return strings.Join(rules, ",")
}

// reviewPermissions makes one LocalSubjectAccessReview per permission, in parallel, and
// reports true only when every answer is a definite "allowed".
func (e *Executor) reviewPermissions(ctx context.Context, ns, sa string, perms []contract.Permission) bool {
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

// checkedPermissions are the rights the Job's pre-checks container would check, and
// whether it has one: the sidecars' rights, and the state's when it has STATE_PATH.
func checkedPermissions(job *batchv1.Job) ([]contract.Permission, bool) {
	for _, c := range job.Spec.Template.Spec.InitContainers {
		if c.Name != contract.ContainerPreChecks {
			continue
		}
		perms := contract.SidecarPermissions()
		for _, e := range c.Env {
			if e.Name == contract.EnvStatePath && e.Value != "" {
				perms = append(perms, contract.StatePermissions()...)
			}
		}
		return perms, true
	}
	return nil, false
}

// permissionCheck is the answer of the provider-side check.
type permissionCheck struct {
	// allowed: every right pre-checks would check is allowed.
	allowed bool
	// remembered: the answer came from an earlier run's check.
	remembered bool
}

// startPermissionCheck starts the provider-side check of the rights the Job's pre-checks
// container would check and returns a function that waits for its answer. It answers
// "not allowed" at once when the Job has no pre-checks container (skip_permission_checks).
func (e *Executor) startPermissionCheck(ctx context.Context, job *batchv1.Job) func() permissionCheck {
	perms, ok := checkedPermissions(job)
	if !ok {
		return func() permissionCheck { return permissionCheck{} }
	}
	sa := job.Spec.Template.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	done := make(chan permissionCheck, 1)
	go func() {
		allowed, remembered := e.checkPermissions(ctx, job.Namespace, sa, perms)
		done <- permissionCheck{allowed: allowed, remembered: remembered}
	}()
	return func() permissionCheck { return <-done }
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
