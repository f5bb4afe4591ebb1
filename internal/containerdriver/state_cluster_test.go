package containerdriver_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// refuseStateWrites makes the real API server refuse, with a 500 Internal Error, every
// create and update of a state Secret (labelled LabelStateOf) in the test's namespace: a
// validating webhook whose service does not exist, with failurePolicy Fail. That is the
// answer an overloaded or half-broken control plane gives, which the sidecars retry
// (apiretry.Transient). It returns once the API server enforces it, and a function that
// removes it and returns once the API server admits such a Secret again.
func refuseStateWrites(t *testing.T, e *env) (lift func()) {
	t.Helper()
	ctx := context.Background()
	fail := admissionregistrationv1.Fail
	none := admissionregistrationv1.SideEffectClassNone
	timeout := int32(2)
	port := int32(443)
	name := "refuse-state-" + e.ns
	hook := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app.kubernetes.io/managed-by": "containerdriver-tests"}},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "refuse-state.containerdriver.test",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Namespace: e.ns, Name: "nowhere", Port: &port}},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}}}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": e.ns}},
			ObjectSelector:          &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: contract.LabelStateOf, Operator: metav1.LabelSelectorOpExists}}},
		}},
	}
	if _, err := e.c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, hook, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the refusing webhook: %v", err)
	}
	deleted := false
	remove := func() {
		if deleted {
			return
		}
		deleted = true
		if err := e.c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete the refusing webhook: %v", err)
		}
	}
	t.Cleanup(remove)
	waitProbeSecret(t, e, true)
	return func() {
		remove()
		waitProbeSecret(t, e, false)
	}
}

// waitProbeSecret creates a probe Secret labelled like a state Secret until the API
// server refuses it with an internal error (refused) or admits it (not refused).
func waitProbeSecret(t *testing.T, e *env, refused bool) {
	t.Helper()
	ctx := context.Background()
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-", Namespace: e.ns, Labels: map[string]string{contract.LabelStateOf: "probe"}}}
		s, err := e.c.CoreV1().Secrets(e.ns).Create(ctx, probe, metav1.CreateOptions{})
		if err == nil {
			if err := e.c.CoreV1().Secrets(e.ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete the probe secret: %v", err)
			}
		}
		last = err
		if refused && apierrors.IsInternalError(err) || !refused && err == nil {
			return
		}
	}
	t.Fatalf("state-like secrets not refused=%v by the API server within a minute; last: %v", refused, last)
}

// waitContainerLog waits until a container of a pod of the namespace has logged want.
func waitContainerLog(t *testing.T, e *env, container, want string, limit time.Duration) {
	t.Helper()
	ctx := context.Background()
	last := "no pod"
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list pods: %v", err)
		}
		for _, p := range pods.Items {
			b, err := e.c.CoreV1().Pods(e.ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
			if err == nil && strings.Contains(string(b), want) {
				return
			}
			last = string(b)
			if err != nil {
				last = err.Error()
			}
		}
	}
	t.Fatalf("no %s logged %q within %v; last: %s", container, want, limit, last)
}

// stateSecrets lists the run's state Secrets as name@resourceVersion, sorted.
func stateSecrets(t *testing.T, e *env) []string {
	t.Helper()
	list, err := e.c.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: contract.LabelStateOf})
	if err != nil {
		t.Fatalf("list the state secrets: %v", err)
	}
	var out []string
	for _, s := range list.Items {
		out = append(out, s.Name+"@"+s.ResourceVersion)
	}
	sort.Strings(out)
	return out
}

// The API server refuses the state's Secrets for a while (a 500, as from a broken
// admission webhook) when outputs-fetcher saves them: outputs-fetcher retries, the
// refusal is lifted within its budget, and the run succeeds with its state saved.
func TestAccExecutor_StateSaveRetriesRefusedAPI(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	lift := refuseStateWrites(t, e)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Lifted only once outputs-fetcher has met the refusal and said it retries.
		waitContainerLog(t, e, contract.ContainerOutputsFetcher, "saving the state failed (attempt 1), retrying", 2*time.Minute)
		lift()
	}()
	res, _, err := e.run(t, spec, contract.ActionCreate)
	<-done
	wantCount(t, "run whose state was refused for a while", res, err, 1)
	spec.Inputs = map[string]any{"count_state": true, "v": 2}
	res, _, err = e.run(t, spec, contract.ActionCreate)
	wantCount(t, "next run", res, err, 2)
	destroyAndAssertEmpty(t, e, spec)
}

// The refusal outlasts outputs-fetcher's budget for the state: the run fails loudly with
// StateNotSaved, and the state the previous run saved is kept unchanged (the next run
// counts on from it).
func TestAccExecutor_StateSaveRefusedPastBudgetKeepsState(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	res, _, err := e.run(t, spec, contract.ActionCreate)
	wantCount(t, "first run", res, err, 1)
	saved := stateSecrets(t, e)

	lift := refuseStateWrites(t, e)
	spec.Inputs = map[string]any{"count_state": true, "v": 2}
	_, _, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonStateNotSaved || re.Container != contract.ContainerOutputsFetcher {
		t.Fatalf("got %v, want %s from %s", err, cd.ReasonStateNotSaved, contract.ContainerOutputsFetcher)
	}
	// Retried until the budget ran out, then reported with the API's answer.
	if m := regexp.MustCompile(`gave up after (\d+) attempts`).FindStringSubmatch(err.Error()); m == nil || m[1] == "1" || !strings.Contains(err.Error(), "Internal error occurred") {
		t.Errorf("the error does not say the API refused several attempts: %v", err)
	}
	if got := stateSecrets(t, e); fmt.Sprint(got) != fmt.Sprint(saved) {
		t.Errorf("the saved state changed although the save failed: %v, was %v", got, saved)
	}
	lift()
	spec.Inputs = map[string]any{"count_state": true, "v": 3}
	res, _, err = e.run(t, spec, contract.ActionCreate)
	wantCount(t, "run after the refusal", res, err, 2)
	destroyAndAssertEmpty(t, e, spec)
}

// The saved state is corrupt (a chunk's bytes replaced): state-restore fails the run
// before the runner starts, with an error naming the state, and the saved state is not
// overwritten by the failed run.
func TestAccExecutor_CorruptStateFailsBeforeRunner(t *testing.T) {
	t.Parallel()
	e, spec := stateEnv(t)
	ctx := context.Background()
	res, _, err := e.run(t, spec, contract.ActionCreate)
	wantCount(t, "first run", res, err, 1)

	chunks, err := e.c.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{LabelSelector: contract.LabelRole + "=" + contract.RoleStateChunk})
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks.Items) == 0 {
		t.Fatal("no state chunk saved by the first run")
	}
	chunk := chunks.Items[0]
	for k := range chunk.Data {
		chunk.Data[k] = []byte("not the archive that was saved")
	}
	if _, err := e.c.CoreV1().Secrets(e.ns).Update(ctx, &chunk, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	saved := stateSecrets(t, e)

	spec.Inputs = map[string]any{"count_state": true, "v": 2}
	_, _, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Container != contract.ContainerStateRestore {
		t.Fatalf("got %v, want state-restore to fail", err)
	}
	if re.RunnerStarted() {
		t.Errorf("the runner started on a corrupt state: %+v", re)
	}
	if !strings.Contains(err.Error(), "the saved state is corrupt") || strings.Contains(err.Error(), "gave up after") {
		t.Errorf("the error does not say at once that the saved state is corrupt: %v", err)
	}
	if got := stateSecrets(t, e); fmt.Sprint(got) != fmt.Sprint(saved) {
		t.Errorf("the corrupt state was overwritten by the failed run: %v, was %v", got, saved)
	}
}

// An eviction (the Eviction API, as kubectl drain uses) of a run's pod while its runner
// works saves the state like a graceful deletion: the runner gets SIGTERM and
// outputs-fetcher saves the directory before the pod ends.
func TestAccExecutor_EvictionSavesState(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.grantState(t)
	spec := e.spec(t, map[string]any{"count_state": true, "sleep_after_seconds": 120})
	spec.State = &cd.StateSpec{Path: "/state"}
	go func() {
		pod := waitRunnerRunning(t, e, 2*time.Minute)
		waitRunnerLog(t, e, pod, "testrunner: state written", time.Minute)
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: e.ns}}
		if err := e.c.CoreV1().Pods(e.ns).EvictV1(context.Background(), ev); err != nil {
			t.Errorf("evict pod %s: %v", pod, err)
		}
	}()
	_, _, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonPodDeleted {
		t.Fatalf("got %v, want reason %s", err, cd.ReasonPodDeleted)
	}
	if !strings.Contains(err.Error(), "EvictionByEvictionAPI") {
		t.Errorf("the error does not say the pod was evicted: %v", err)
	}
	spec.Inputs = map[string]any{"count_state": true}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	wantCount(t, "run after the eviction", res, err, 2)
	if res.Outputs["sigterms"] != "1" {
		t.Errorf("the evicted pod's runner did not get SIGTERM before the save: sigterms = %v", res.Outputs["sigterms"])
	}
	destroyAndAssertEmpty(t, e, spec)
}
