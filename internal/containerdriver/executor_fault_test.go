package containerdriver_test

// The fault matrix of a run, on the real cluster: what happens to the runner's state, how
// often the runner runs and what is left behind when the caller gives up, a pod is
// deleted, the scheduler cannot place the pod, a retry follows a failure, or an input is
// too large. Each test has its own namespace and runs in parallel with the others.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

func runCtx(t *testing.T, e *env, ctx context.Context, spec *cd.RunSpec, action string) (*cd.Result, error) {
	t.Helper()
	start := time.Now()
	res, err := (&cd.Executor{Client: e.c, Observer: &recorder{}}).Run(ctx, spec, action)
	t.Logf("%s run took %v", action, time.Since(start).Round(time.Millisecond))
	return res, err
}

func wantCount(t *testing.T, step string, res *cd.Result, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v\n%s", step, err, detail(err))
	}
	if fmt.Sprint(res.Outputs["count"]) != fmt.Sprint(want) {
		t.Fatalf("%s: count = %v, want %d", step, res.Outputs["count"], want)
	}
}

// Defect 1: a git-init failure between two successful runs kept nothing of the state.
func TestAccExecutor_InitFailureKeepsState(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	repoURL, _ := serveGitRepo(t, map[string]string{"main.tf": "# v1\n"})
	spec.Source = &cd.SourceSpec{URL: repoURL, Ref: "refs/heads/main", Password: "git-pass-123"}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	wantCount(t, "first run", res, err, 1)
	spec.Inputs = map[string]any{"count_state": true, "v": 2}
	res, _, err = e.run(t, spec, contract.ActionCreate)
	wantCount(t, "second run", res, err, 2)

	spec.Source.Ref = "refs/heads/no-such-branch"
	spec.Inputs = map[string]any{"count_state": true, "v": 3}
	_, _, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != contract.ContainerGitInit {
		t.Fatalf("broken ref: got %v, want git-init to fail", err)
	}

	spec.Source.Ref = "refs/heads/main"
	res, _, err = e.run(t, spec, contract.ActionCreate)
	wantCount(t, "run after the failure", res, err, 3)
	destroyAndAssertEmpty(t, e, spec)
}

// Defect 2: a timeout or an interrupt stops the pod gracefully (the runner gets SIGTERM),
// the state is saved after it, and the error says which of the two happened.
func TestAccExecutor_TimeoutAndInterruptStopGracefully(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		reason string
	}{
		{"timeout", cd.ReasonTimeout},
		{"interrupt", cd.ReasonInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.grantState(t)
			spec := e.spec(t, map[string]any{"count_state": true, "sleep_after_seconds": 120})
			spec.State = &cd.StateSpec{Path: "/state"}
			var ctx context.Context
			var cancel context.CancelFunc
			if tc.reason == cd.ReasonTimeout {
				ctx, cancel = context.WithTimeout(context.Background(), 25*time.Second)
			} else {
				ctx, cancel = context.WithCancel(context.Background())
				go func() {
					// Interrupt once the runner has counted (it then sleeps).
					pod := waitRunnerRunning(t, e, 60*time.Second)
					waitRunnerLog(t, e, pod, "testrunner: state written", 60*time.Second)
					cancel()
				}()
			}
			defer cancel()
			start := time.Now()
			_, err := runCtx(t, e, ctx, spec, contract.ActionCreate)
			var re *cd.RunError
			if !errors.As(err, &re) || re.Reason != tc.reason {
				t.Fatalf("got %v, want reason %s", err, tc.reason)
			}
			if re.StateSaved == nil || !*re.StateSaved {
				t.Errorf("state not reported saved: %s", re.Message)
			}
			if !re.RunnerStarted() || re.Runner == nil {
				t.Errorf("runner status not carried: %+v", re.Runner)
			}
			// The reason above already orders the stop before anything else could end the
			// run (a Timeout or Interrupted reason, not the Job's deadline); how long it took
			// on this node is information, not a check.
			t.Logf("stopped after %v", time.Since(start).Round(time.Millisecond))
			// The next run finds what the stopped one saved: its count and its SIGTERM.
			spec.Inputs = map[string]any{"count_state": true}
			res, _, err := e.run(t, spec, contract.ActionCreate)
			wantCount(t, "run after the stop", res, err, 2)
			if res.Outputs["sigterms"] != "1" {
				t.Errorf("the runner did not get SIGTERM before the save: sigterms = %v", res.Outputs["sigterms"])
			}
			destroyAndAssertEmpty(t, e, spec)
		})
	}
}

// destroyAndAssertEmpty destroys the run (which removes its state) and checks that
// nothing is left in the namespace.
func destroyAndAssertEmpty(t *testing.T, e *env, spec *cd.RunSpec) {
	t.Helper()
	if _, _, err := e.run(t, spec, contract.ActionDestroy); err != nil {
		t.Fatalf("destroy: %v\n%s", err, detail(err))
	}
	e.assertEmpty(t)
}

// waitRunnerRunning waits until a runner container of the namespace runs.
func waitRunnerRunning(t *testing.T, e *env, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		pods, err := e.c.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == contract.ContainerRunner && cs.State.Running != nil {
					return p.Name
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("no runner running within %v", limit)
	return ""
}

// Defect 8: a pod force-deleted mid-run is reported as deleted, quickly, every time.
func TestAccExecutor_PodDeletedIsReported(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const tries = 10
	var wg sync.WaitGroup
	slots := make(chan struct{}, 5) // five pods at a time: the node is shared with other tests
	for i := range tries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			spec := e.spec(t, map[string]any{"sleep_seconds": 120, "try": i})
			spec.RunID = fmt.Sprintf("deleted-%d-%d", i, time.Now().UnixNano()%100000)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			deletedAt := make(chan time.Time, 1)
			go func() {
				// Force-delete the pod once its runner runs.
				for ctx.Err() == nil {
					pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: "containerdriver.io/run-id=" + spec.RunID})
					if err != nil {
						if ctx.Err() == nil {
							t.Errorf("list the pods of run %s: %v", spec.RunID, err)
						}
						return
					}
					for _, p := range pods.Items {
						for _, cs := range p.Status.ContainerStatuses {
							if cs.Name == contract.ContainerRunner && cs.State.Running != nil {
								_ = e.c.CoreV1().Pods(e.ns).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
								deletedAt <- time.Now()
								return
							}
						}
					}
					time.Sleep(300 * time.Millisecond)
				}
			}()
			_, err := (&cd.Executor{Client: e.c}).Run(ctx, spec, contract.ActionCreate)
			var re *cd.RunError
			if !errors.As(err, &re) || re.Reason != cd.ReasonPodDeleted {
				t.Errorf("try %d: got %v, want reason %s", i, err, cd.ReasonPodDeleted)
				return
			}
			if !strings.Contains(re.Message, "was deleted") {
				t.Errorf("try %d: message %q", i, re.Message)
			}
			// Reported as deleted, not at the operation's 3-minute deadline (the reason
			// says which): the delay is logged, not bounded by a guess.
			select {
			case at := <-deletedAt:
				t.Logf("try %d: reported %v after the deletion", i, time.Since(at).Round(time.Millisecond))
			default:
				t.Errorf("try %d: the pod was never deleted", i)
			}
		}()
	}
	wg.Wait()
	e.assertEmpty(t)
}

// Defect 7: an unschedulable pod waits for the cluster to make room (a node label added
// once the scheduler reported the pod unschedulable stands in for an autoscaler's new node), and fails with the scheduler's
// message when its grace runs out.
func TestAccExecutor_UnschedulableWaitsThenFails(t *testing.T) {
	t.Parallel()
	label := fmt.Sprintf("containerdriver.io/test-%d", time.Now().UnixNano()%1000000)
	template := fmt.Sprintf("spec:\n  nodeSelector:\n    %s: \"yes\"\n", label)
	t.Run("scheduled once a node fits", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		spec := e.spec(t, map[string]any{"outputs": map[string]any{"k": "v"}})
		spec.Job.PodTemplates = []string{template}
		spec.UnschedulableGrace = 3 * time.Minute
		node := nodeName(t, e)
		t.Cleanup(func() { patchNodeLabel(t, e, node, label, nil) })
		go func() {
			// The "new node" comes once the scheduler has found the pod unschedulable.
			waitEvent(t, e, "FailedScheduling", 2*time.Minute)
			patchNodeLabel(t, e, node, label, ptr.To("yes"))
		}()
		res, _, err := e.run(t, spec, contract.ActionCreate)
		if err != nil {
			t.Fatalf("got %v\n%s", err, detail(err))
		}
		if res.Outputs["k"] != "v" {
			t.Errorf("outputs %v", res.Outputs)
		}
		e.assertEmpty(t)
	})
	t.Run("stays unschedulable", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		spec := e.spec(t, nil)
		spec.Job.PodTemplates = []string{"spec:\n  nodeSelector:\n    containerdriver.io/never: \"yes\"\n"}
		spec.UnschedulableGrace = 10 * time.Second
		start := time.Now()
		_, _, err := e.run(t, spec, contract.ActionCreate)
		var re *cd.RunError
		if !errors.As(err, &re) || re.Reason != cd.ReasonUnschedulable {
			t.Fatalf("got %v, want reason %s", err, cd.ReasonUnschedulable)
		}
		if !strings.Contains(re.Message, "node(s) didn't match") && !strings.Contains(re.Message, "node affinity/selector") {
			t.Errorf("no scheduler message: %q", re.Message)
		}
		// It waited its grace (a lower bound a busy node cannot break); that it did not wait
		// for the operation's deadline instead is what the Unschedulable reason says.
		if d := time.Since(start); d < 10*time.Second {
			t.Errorf("failed after %v, before the 10s grace", d)
		}
		if re.RunnerStarted() {
			t.Error("a pod that never ran counts as started")
		}
		e.assertEmpty(t)
	})
}

func nodeName(t *testing.T, e *env) string {
	nodes, err := e.c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("no node: %v", err)
	}
	return nodes.Items[0].Name
}

func patchNodeLabel(t *testing.T, e *env, node, label string, value *string) {
	v := "null"
	if value != nil {
		v = fmt.Sprintf("%q", *value)
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, label, v)
	if _, err := e.c.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Errorf("label node: %v", err)
	}
}

// Defect 5: a run refused by a ResourceQuota and retried once the quota is gone succeeds;
// the earlier Job's FailedCreate event (same name) does not fail it.
func TestAccExecutor_RetryAfterQuotaSucceeds(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods", Namespace: e.ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}
	if _, err := e.c.CoreV1().ResourceQuotas(e.ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitQuotaEnforced(t, e, "no-pods")
	spec := e.spec(t, map[string]any{"outputs": map[string]any{"k": "v"}})
	for _, action := range []string{contract.ActionCreate, contract.ActionDestroy} {
		_, _, err := e.run(t, spec, action)
		var re *cd.RunError
		if !errors.As(err, &re) || re.Reason != "FailedCreate" {
			t.Fatalf("%s under the quota: got %v, want FailedCreate", action, err)
		}
	}
	if err := e.c.CoreV1().ResourceQuotas(e.ns).Delete(ctx, "no-pods", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitQuotaLifted(t, e)
	for _, action := range []string{contract.ActionCreate, contract.ActionDestroy} {
		res, _, err := e.run(t, spec, action)
		if err != nil {
			t.Fatalf("%s retried after the quota is gone: %v\n%s", action, err, detail(err))
		}
		if res.Outputs["k"] != "v" {
			t.Errorf("%s: outputs %v", action, res.Outputs)
		}
	}
	e.assertEmpty(t)
}

// waitQuotaEnforced waits until the quota controller has computed the quota's usage:
// before that, pods are admitted.
func waitQuotaEnforced(t *testing.T, e *env, name string) {
	for range 100 {
		q, err := e.c.CoreV1().ResourceQuotas(e.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && q.Status.Hard != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("quota never enforced")
}

// waitQuotaLifted waits until the API server admits a pod again (a dry-run create passes
// admission, quota included), so the retries below do not race the quota's removal.
func waitQuotaLifted(t *testing.T, e *env) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "quota-probe-", Namespace: e.ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: e.runner, SecurityContext: &corev1.SecurityContext{
			// The test namespaces enforce the restricted Pod Security Standard.
			AllowPrivilegeEscalation: ptr.To(false), RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000),
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}}}},
	}
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, err = e.c.CoreV1().Pods(e.ns).Create(context.Background(), pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err == nil {
			return
		}
	}
	t.Fatalf("pods still refused a minute after the quota was deleted: %v", err)
}

// waitRunnerLog waits until the runner container of pod has logged want.
func waitRunnerLog(t *testing.T, e *env, pod, want string, limit time.Duration) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		b, err := e.c.CoreV1().Pods(e.ns).GetLogs(pod, &corev1.PodLogOptions{Container: contract.ContainerRunner}).DoRaw(context.Background())
		if err == nil && strings.Contains(string(b), want) {
			return
		}
		last = string(b)
		if err != nil {
			last = err.Error()
		}
	}
	t.Errorf("the runner of %s did not log %q within %v; last: %s", pod, want, limit, last)
}

// waitEvent waits until an event with reason appears in the test's namespace.
func waitEvent(t *testing.T, e *env, reason string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		evs, err := e.c.CoreV1().Events(e.ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=" + reason})
		if err != nil {
			t.Errorf("list events: %v", err)
			return
		}
		if len(evs.Items) > 0 {
			return
		}
	}
	t.Errorf("no %s event in %s within %v", reason, e.ns, limit)
}

// Defect 6: a second Job of the same run (a crashed update still running while a changed
// configuration starts another) waits for the first; no state generation is lost.
func TestAccExecutor_TwoJobsOfOneRunDoNotOverlap(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	first := e.spec(t, map[string]any{"count_state": true, "sleep_seconds": 8, "v": 1})
	first.State = &cd.StateSpec{Path: "/state"}
	built := e.crashedCaller(t, first)
	ctx := context.Background()
	second := *first
	second.Inputs = map[string]any{"count_state": true, "v": 2}
	res, rec, err := e.run(t, &second, contract.ActionCreate)
	wantCount(t, "second job", res, err, 2)
	if !strings.Contains(rec.all(), "waiting for Job") {
		t.Errorf("did not wait for the first Job:\n%s", rec.all())
	}
	// The first Job stays, finished, for its own caller; nothing else is left.
	_ = e.c.BatchV1().Jobs(e.ns).Delete(ctx, built.Job.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
	_ = (&cd.Executor{Client: e.c}).Cleanup(ctx, e.ns, built.Job.Name)
	waitJobsGone(t, e)
	destroyAndAssertEmpty(t, e, &second)
}

func waitJobsGone(t *testing.T, e *env) {
	for range 100 {
		l, err := e.c.BatchV1().Jobs(e.ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Items) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Defect 9: an input too large for one object is refused before anything is created.
func TestAccExecutor_OversizedInputLeavesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, nil)
	spec.Files = map[string]string{"big.bin": strings.Repeat("x", 1200*1024)}
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var ve cd.ValidationErrors
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "files: holds") {
		t.Fatalf("got %v, want a files size error", err)
	}
	e.assertEmpty(t)
	jobs, err := e.c.BatchV1().Jobs(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Errorf("%d Jobs created", len(jobs.Items))
	}
}

// A Secret of the run refused by the API (here a ResourceQuota that admits one more Secret
// than the namespace holds, so the second of the run's Secrets is refused): the run fails
// with the API's reason before any container starts (the Job's controller may have made
// its pod, which waits for the inputs Secret, made last), and the Job, its pod and the
// objects created before the refusal are deleted.
func TestAccExecutor_RefusedSecretLeavesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	have, err := e.c.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "one-secret", Namespace: e.ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"count/secrets": *resource.NewQuantity(int64(len(have.Items)+1), resource.DecimalSI)}}}
	if _, err := e.c.CoreV1().ResourceQuotas(e.ns).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitQuotaEnforced(t, e, "one-secret")
	spec := e.spec(t, map[string]any{"outputs": map[string]any{"k": "v"}})
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cr3t-value"}
	spec.SecretFiles = map[string]string{"creds.json": `{"k":"s3cr3t-file"}`}
	_, _, err = e.run(t, spec, contract.ActionCreate)
	if err == nil || !strings.Contains(err.Error(), "create secret") || !strings.Contains(err.Error(), "exceeded quota") {
		t.Fatalf("got %v, want the API's refusal of a Secret", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows a secret: %v", err)
	}
	e.assertEmpty(t)
	if pods := e.seen.StartedPods(); len(pods) != 0 {
		t.Errorf("pods started a container although an input was refused: %v", pods)
	}
	if jobs := e.seen.Jobs(nil); len(jobs) != 1 {
		t.Errorf("jobs %v, want the one Job the refusal deleted", jobs)
	}
}

// waitStateAccess waits until the API server's authorizer answers allowed for the runner
// service account's "get secrets" (RBAC changes reach the authorizer through a cache).
func waitStateAccess(t *testing.T, e *env, allowed bool) {
	t.Helper()
	waitAccess(t, e, "get", "secrets", allowed)
}

// waitAccess waits until the runner's service account may (or may not) verb resource.
func waitAccess(t *testing.T, e *env, verb, resource string, allowed bool) {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:               "system:serviceaccount:" + e.ns + ":runner",
		ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: e.ns, Verb: verb, Resource: resource},
	}}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r, err := e.c.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("access review: %v", err)
		}
		if r.Status.Allowed == allowed {
			return
		}
	}
	t.Fatalf("the runner's right to %s %s did not become allowed=%v within a minute", verb, resource, allowed)
}

// A pre-checks failure between two successful runs keeps the state directory as it was:
// the run stopped before state-restore marked the directory restored, so nothing is saved
// over the last good state. Pre-checks is made to fail on a right the state does not need
// (create configmaps), so the state's Secrets stay writable by outputs-fetcher: were the
// empty directory saved, the next run would count 1, not 2.
func TestAccExecutor_PreChecksFailureKeepsState(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	ctx := context.Background()
	res, _, err := e.run(t, spec, contract.ActionCreate)
	wantCount(t, "first run", res, err, 1)

	setRunnerVerbs := func(resources []string, allowed bool) {
		t.Helper()
		role, err := e.c.RbacV1().Roles(e.ns).Get(ctx, testcluster.RunnerServiceAccount, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		role.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: resources, Verbs: []string{"create"}}}
		if _, err := e.c.RbacV1().Roles(e.ns).Update(ctx, role, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitAccess(t, e, "create", "configmaps", allowed)
	}
	// create configmaps is withdrawn: pre-checks refuses the next run; the state's rights stay.
	setRunnerVerbs([]string{"secrets"}, false)
	waitStateAccess(t, e, true)
	// The next runs are those of a new provider process (a later terraform apply): the
	// first run's "allowed", remembered by its client for a while, would let the run
	// start without pre-checks (TestAccExecutor_WithdrawnRightWithinTheAnswersLife).
	e.c = testcluster.Client(t)
	spec.Inputs = map[string]any{"count_state": true, "v": 2}
	_, _, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != contract.ContainerPreChecks {
		t.Fatalf("without create configmaps: got %v, want pre-checks to fail", err)
	}
	if re.RunnerStarted() {
		t.Errorf("a run stopped at pre-checks counts as started: %+v", re)
	}

	setRunnerVerbs([]string{"configmaps", "secrets"}, true)
	spec.Inputs = map[string]any{"count_state": true, "v": 3}
	res, _, err = e.run(t, spec, contract.ActionCreate)
	wantCount(t, "run after the pre-checks failure", res, err, 2)
	destroyAndAssertEmpty(t, e, spec)
}

// A pod deleted gracefully (kubectl delete, an eviction) while its runner works: the
// runner gets SIGTERM and outputs-fetcher saves the state directory before the pod ends,
// so the next run finds the stopped run's count and its SIGTERM.
func TestAccExecutor_GracefulPodDeletionSavesState(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{"count_state": true, "sleep_after_seconds": 120})
	spec.State = &cd.StateSpec{Path: "/state"}
	go func() {
		pod := waitRunnerRunning(t, e, 2*time.Minute)
		waitRunnerLog(t, e, pod, "testrunner: state written", time.Minute)
		// The default grace period: a graceful deletion, as kubectl delete makes.
		if err := e.c.CoreV1().Pods(e.ns).Delete(context.Background(), pod, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete pod %s: %v", pod, err)
		}
	}()
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonPodDeleted {
		t.Fatalf("got %v, want reason %s", err, cd.ReasonPodDeleted)
	}
	spec.Inputs = map[string]any{"count_state": true}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	wantCount(t, "run after the deletion", res, err, 2)
	if res.Outputs["sigterms"] != "1" {
		t.Errorf("the deleted pod's runner did not get SIGTERM before the save: sigterms = %v", res.Outputs["sigterms"])
	}
	destroyAndAssertEmpty(t, e, spec)
}
