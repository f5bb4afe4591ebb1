package containerdriver_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// Ten creates at once with one service account, in one provider process (one client):
// the service account is read once and each right reviewed once, not once per run
// (issue 21), and the server's version is read once. On main: 10 reads, 20 reviews and 10
// version reads.
func TestAccExecutor_ConcurrentRunsAskOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, counter := countingClient(t)
	const runs = 10
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	errs := make([]error, runs)
	var wg sync.WaitGroup
	for i := range runs {
		spec := e.spec(t, map[string]any{"outputs": map[string]any{"i": i}})
		spec.RunID = fmt.Sprintf("%s-%d", spec.RunID, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := (&cd.Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
			if err == nil && fmt.Sprint(res.Outputs["i"]) != fmt.Sprint(i) {
				err = fmt.Errorf("outputs %v", res.Outputs)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v\n%s", i, err, detail(err))
		}
	}
	t.Logf("requests: %s", counter)
	for k, want := range map[string]int{
		"post localsubjectaccessreviews": len(contract.SidecarPermissions()),
		"get serviceaccounts":            1,
		"list ":                          1, // GET /version, the native sidecars check (countingTransport's name for it)
		"post jobs":                      runs,
	} {
		if got := counter.get(k); got != want {
			t.Errorf("%q: %d requests for %d runs, want %d", k, got, runs, want)
		}
	}
	e.assertEmpty(t)
}

// A service account deleted after a run found it, while that answer is still remembered:
// the next run's preflight does not see it, the Job cannot create its pod, and the run
// fails as preflight would have failed it: ServiceAccountNotFound, naming the service
// account and the fix. The failure drops the answer: the run after it is refused by
// preflight again, creating nothing.
func TestAccExecutor_DeletedServiceAccountWithinTheAnswersLife(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// The answers outlive the runs of a loaded machine; by default they live 30 s.
	ex := func() *cd.Executor { return cd.RememberFor(&cd.Executor{Client: e.c}, 10*time.Minute) }
	run := func(spec *cd.RunSpec) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_, err := ex().Run(ctx, spec, contract.ActionCreate)
		return err
	}
	spec := e.spec(t, nil)
	if err := run(spec); err != nil {
		t.Fatalf("first run: %v\n%s", err, detail(err))
	}
	ctx := context.Background()
	if err := e.c.CoreV1().ServiceAccounts(e.ns).Delete(ctx, testcluster.RunnerServiceAccount, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := e.c.CoreV1().ServiceAccounts(e.ns).Get(ctx, testcluster.RunnerServiceAccount, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Fatalf("the service account did not go: %v", err)
	}

	spec.Inputs = map[string]any{"v": 2}
	err := run(spec)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonServiceAccountNotFound {
		t.Fatalf("got %v, want reason %s", err, cd.ReasonServiceAccountNotFound)
	}
	for _, want := range []string{
		fmt.Sprintf("service account %q does not exist in namespace %q", testcluster.RunnerServiceAccount, e.ns),
		"create_service_account = true", "job.service_account",
		"the Job's pod could not be created", // found by the Job, not by preflight: the answer was remembered
	} {
		if !strings.Contains(re.Message, want) {
			t.Errorf("message %q lacks %q", re.Message, want)
		}
	}
	if re.RunnerStarted() {
		t.Errorf("the runner counts as started: %+v", re)
	}

	spec.Inputs = map[string]any{"v": 3}
	err = run(spec)
	if !errors.As(err, &re) || re.Reason != cd.ReasonServiceAccountNotFound || strings.Contains(re.Message, "could not be created") {
		t.Fatalf("the run after: got %v, want preflight's %s (the answer dropped)", err, cd.ReasonServiceAccountNotFound)
	}
	e.assertEmpty(t)
}

// A right withdrawn after a run found it allowed, while that answer is still remembered:
// the next run starts without pre-checks, and outputs-fetcher, refused, fails the run
// naming the right. That failure drops the answer: the run after it asks again and stops
// at pre-checks, before its runner, as a run with the right denied always did.
func TestAccExecutor_WithdrawnRightWithinTheAnswersLife(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, counter := countingClient(t)
	ex := func() *cd.Executor { return cd.RememberFor(&cd.Executor{Client: c}, 10*time.Minute) }
	run := func(spec *cd.RunSpec) error {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_, err := ex().Run(ctx, spec, contract.ActionCreate)
		return err
	}
	spec := e.spec(t, map[string]any{"outputs": map[string]any{"k": "v"}})
	if err := run(spec); err != nil {
		t.Fatalf("first run: %v\n%s", err, detail(err))
	}
	ctx := context.Background()
	role, err := e.c.RbacV1().Roles(e.ns).Get(ctx, testcluster.RunnerServiceAccount, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}}}
	if _, err := e.c.RbacV1().Roles(e.ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAccess(t, e, "create", "configmaps", false)
	reviews := counter.get("post localsubjectaccessreviews")

	spec.Inputs = map[string]any{"outputs": map[string]any{"k": "v"}, "v": 2}
	err = run(spec)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != contract.ContainerOutputsFetcher || !strings.Contains(re.Detail(), "may not create configmaps") {
		t.Fatalf("within the answer's life: got %v, want outputs-fetcher to fail naming create configmaps\n%s", err, detail(err))
	}
	if n := counter.get("post localsubjectaccessreviews"); n != reviews {
		t.Errorf("%d reviews during the second run, want none: the answer was not remembered", n-reviews)
	}

	spec.Inputs = map[string]any{"outputs": map[string]any{"k": "v"}, "v": 3}
	err = run(spec)
	if !errors.As(err, &re) || re.Container != contract.ContainerPreChecks {
		t.Fatalf("after the failure: got %v, want pre-checks to fail (the rights asked again)", err)
	}
	if re.RunnerStarted() {
		t.Errorf("a run stopped at pre-checks counts as started: %+v", re)
	}
	if n := counter.get("post localsubjectaccessreviews"); n <= reviews {
		t.Error("the run after the failure asked nothing: the answer outlived the failure")
	}
	e.assertEmpty(t)
}
