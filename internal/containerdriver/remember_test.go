package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// gatedQuestions makes the fake API server hold every LocalSubjectAccessReview until
// reviewGate is closed and every service account read until readGate is, answering reviews
// with allowed and reads from the tracker (or readErr), and counts them. The fake
// clientset runs one reactor at a time: while one request is held, every other request of
// the client waits for it, so a run that did not join the held request sends its own once
// the gate opens, and is counted.
type gatedQuestions struct {
	reviewGate, readGate chan struct{}
	reviews, reads       atomic.Int32
	allowed              atomic.Bool
	readErr              atomic.Pointer[error]
	reviewed, read       chan struct{}
}

func gateQuestions(c *fake.Clientset) *gatedQuestions {
	g := &gatedQuestions{reviewGate: make(chan struct{}), readGate: make(chan struct{}),
		reviewed: make(chan struct{}, 1000), read: make(chan struct{}, 1000)}
	g.allowed.Store(true)
	c.PrependReactor("create", "localsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		g.reviews.Add(1)
		g.reviewed <- struct{}{}
		<-g.reviewGate
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.LocalSubjectAccessReview).DeepCopy()
		r.Status.Allowed = g.allowed.Load()
		return true, r, nil
	})
	c.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		g.reads.Add(1)
		g.read <- struct{}{}
		<-g.readGate
		if p := g.readErr.Load(); p != nil {
			return true, nil, *p
		}
		return false, nil, nil // the tracker answers
	})
	return g
}

// open lets every question through from now on.
func (g *gatedQuestions) open() {
	close(g.reviewGate)
	close(g.readGate)
}

// countJoining counts the questions about to be asked or joined; waitJoined waits until
// n were.
func countJoining(t *testing.T) (waitJoined func(n int32)) {
	t.Helper()
	var joined atomic.Int32
	joining = func() { joined.Add(1) }
	t.Cleanup(func() { joining = func() {} })
	return func(n int32) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			return joined.Load() >= n, nil
		}); err != nil {
			t.Fatalf("%d of %d questions asked: %v", joined.Load(), n, err)
		}
	}
}

// freezeClock stops the clock of remembered answers at a fixed time; the returned
// function moves it on.
func freezeClock(t *testing.T) func(time.Duration) {
	t.Helper()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	t.Cleanup(func() { clock = time.Now })
	return func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

// Ten runs asking about the same service account at the same time share one read of it
// and one review per right; a run after them asks nothing (issue 21).
func TestAsk_ConcurrentRunsShareOneRequest(t *testing.T) {
	freezeClock(t)
	waitJoined := countJoining(t)
	c := fakeCluster()
	g := gateQuestions(c)
	e := &Executor{Client: c}
	perms := contract.SidecarPermissions()
	const runs = 10
	allowed := make([]bool, runs)
	missing := make([]string, runs)
	errs := make([]error, runs)
	// Every run asks while the first question is held: the runs that share it send
	// nothing, the others send their own once it is answered.
	var wg sync.WaitGroup
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			allowed[i], _ = e.checkPermissions(context.Background(), "ns", "runner", perms)
		}()
	}
	<-g.reviewed
	waitJoined(runs)
	close(g.reviewGate)
	wg.Wait()
	for i := range runs {
		wg.Add(1)
		go func() { defer wg.Done(); missing[i], errs[i] = e.missingTarget(context.Background(), "ns", "runner") }()
	}
	<-g.read
	waitJoined(2 * runs)
	close(g.readGate)
	wg.Wait()
	for i := range runs {
		if !allowed[i] || missing[i] != "" || errs[i] != nil {
			t.Errorf("run %d: allowed %v, missing %q, error %v", i, allowed[i], missing[i], errs[i])
		}
	}
	if n := g.reviews.Load(); n != int32(len(perms)) {
		t.Errorf("%d runs made %d reviews, want %d (one per right)", runs, n, len(perms))
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d runs read the service account %d times, want 1", runs, n)
	}

	ok, remembered := e.checkPermissions(context.Background(), "ns", "runner", perms)
	if _, err := e.missingTarget(context.Background(), "ns", "runner"); err != nil {
		t.Fatal(err)
	}
	if !ok || !remembered || g.reviews.Load() != int32(len(perms)) || g.reads.Load() != 1 {
		t.Errorf("a later run: allowed %v remembered %v, %d reviews and %d reads in all; want the answers remembered", ok, remembered, g.reviews.Load(), g.reads.Load())
	}
	// Another rule set, service account or client is another question.
	if _, remembered := e.checkPermissions(context.Background(), "ns", "runner", append(perms, contract.StatePermissions()...)); remembered {
		t.Error("the state's rule set was answered from the sidecars' rule set")
	}
	if _, remembered := e.checkPermissions(context.Background(), "ns", "other", perms); remembered {
		t.Error("another service account was answered from runner's answer")
	}
	if _, remembered := (&Executor{Client: fakeCluster()}).checkPermissions(context.Background(), "ns", "runner", perms); remembered {
		t.Error("another client (another provider configuration) was answered from this client's answer")
	}
}

// What would make a run fail is never remembered: a denial, a missing service account, an
// error. Each run asks again and fails as it would alone.
func TestAsk_OnlyYesIsRemembered(t *testing.T) {
	freezeClock(t)
	perms := contract.SidecarPermissions()

	c := fakeCluster()
	g := gateQuestions(c)
	g.open()
	e := &Executor{Client: c}
	g.allowed.Store(false)
	for i := range 3 {
		if ok, remembered := e.checkPermissions(context.Background(), "ns", "runner", perms); ok || remembered {
			t.Fatalf("denied run %d: allowed %v, remembered %v", i, ok, remembered)
		}
	}
	if n := g.reviews.Load(); n != 3*int32(len(perms)) {
		t.Errorf("3 denied runs made %d reviews, want %d: a denial was remembered", n, 3*len(perms))
	}
	g.allowed.Store(true)
	if ok, remembered := e.checkPermissions(context.Background(), "ns", "runner", perms); !ok || remembered {
		t.Errorf("after the rights were granted: allowed %v, remembered %v; want a fresh allowed", ok, remembered)
	}

	c = fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}})
	g = gateQuestions(c)
	g.open()
	e = &Executor{Client: c}
	for i := range 2 {
		if missing, err := e.missingTarget(context.Background(), "ns", "runner"); missing != targetServiceAccount || err != nil {
			t.Fatalf("run %d: missing %q, %v", i, missing, err)
		}
	}
	if n := g.reads.Load(); n != 2 {
		t.Errorf("2 runs without the service account read it %d times, want 2", n)
	}
	boom := error(apierrors.NewInternalError(errors.New("etcd is down")))
	g.readErr.Store(&boom)
	if _, err := e.missingTarget(context.Background(), "ns", "runner"); err == nil || !strings.Contains(err.Error(), "etcd is down") {
		t.Errorf("got %v, want the API's error", err)
	}
	g.readErr.Store(nil)
	if err := c.Tracker().Add(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner", Namespace: "ns"}}); err != nil {
		t.Fatal(err)
	}
	if missing, err := e.missingTarget(context.Background(), "ns", "runner"); missing != "" || err != nil {
		t.Errorf("the service account created since: missing %q, %v", missing, err)
	}
	if n := g.reads.Load(); n != 4 {
		t.Errorf("%d reads, want 4: a NotFound or an error was remembered", n)
	}
}

// An answer is used for rememberedAnswerLife from when it came, then asked again.
func TestAsk_AnswerLivesForItsLife(t *testing.T) {
	advance := freezeClock(t)
	c := fakeCluster()
	g := gateQuestions(c)
	g.open()
	e := &Executor{Client: c}
	perms := contract.SidecarPermissions()
	e.checkPermissions(context.Background(), "ns", "runner", perms)
	advance(rememberedAnswerLife - time.Second)
	if _, remembered := e.checkPermissions(context.Background(), "ns", "runner", perms); !remembered {
		t.Error("asked again within the answer's life")
	}
	advance(time.Second)
	if _, remembered := e.checkPermissions(context.Background(), "ns", "runner", perms); remembered {
		t.Error("an answer was used beyond its life")
	}
	if n := g.reviews.Load(); n != 2*int32(len(perms)) {
		t.Errorf("%d reviews, want %d", n, 2*len(perms))
	}
}

// A forget drops the answers at once, including one a question asked before it brings
// back later: a run after the forget asks again.
func TestAsk_ForgetDropsEvenAnAnswerOnItsWay(t *testing.T) {
	freezeClock(t)
	c := fakeCluster()
	g := gateQuestions(c)
	e := &Executor{Client: c}
	perms := contract.SidecarPermissions()
	done := make(chan bool)
	go func() { ok, _ := e.checkPermissions(context.Background(), "ns", "runner", perms); done <- ok }()
	<-g.reviewed
	forget(accountKey{c, "ns", "runner"})
	g.open()
	if !<-done {
		t.Fatal("the question asked before the forget was not answered allowed")
	}
	if _, remembered := e.checkPermissions(context.Background(), "ns", "runner", perms); remembered {
		t.Error("the answer of a question asked before the forget was used after it")
	}
	if n := g.reviews.Load(); n != 2*int32(len(perms)) {
		t.Errorf("%d reviews, want %d", n, 2*len(perms))
	}
}

// A run that gives up while its question is shared does not fail the others waiting for
// the same answer.
func TestAsk_OneRunGivingUpLeavesTheOthersTheirAnswer(t *testing.T) {
	freezeClock(t)
	waitJoined := countJoining(t)
	c := fakeCluster()
	g := gateQuestions(c)
	e := &Executor{Client: c}
	first, cancel := context.WithCancel(context.Background())
	errFirst := make(chan error)
	go func() { _, err := e.missingTarget(first, "ns", "runner"); errFirst <- err }()
	<-g.read
	second := make(chan error)
	go func() {
		missing, err := e.missingTarget(context.Background(), "ns", "runner")
		if missing != "" {
			err = fmt.Errorf("missing %q", missing)
		}
		second <- err
	}()
	waitJoined(2)
	cancel()
	if err := <-errFirst; !errors.Is(err, context.Canceled) {
		t.Errorf("the run that gave up: %v", err)
	}
	g.open()
	if err := <-second; err != nil {
		t.Errorf("the run still waiting: %v", err)
	}
	if n := g.reads.Load(); n != 1 {
		t.Errorf("%d reads, want 1 shared", n)
	}
}

// A run whose Job could not create its pod because its service account was deleted after
// an earlier run found it fails as preflight would have failed it, naming the service
// account and the fix; another FailedCreate stays as it was. Both drop the answers.
func TestAfterFailure_FailedCreateOfADeletedServiceAccount(t *testing.T) {
	freezeClock(t)
	spec := minimalSpec()
	event := `Error creating: pods "job-a-x" is forbidden: error looking up service account ns/runner: serviceaccount "runner" not found`
	failedCreate := newRunError(RunError{Namespace: "ns", JobName: "job-a", Action: contract.ActionCreate},
		jobEventFailure(&corev1.Event{Reason: ReasonFailedCreate, Message: event, InvolvedObject: corev1.ObjectReference{Kind: "Job", UID: "u"}}, types.UID("u")), nil)

	c := fakeCluster()
	e := &Executor{Client: c}
	if missing, err := e.missingTarget(context.Background(), "ns", "runner"); missing != "" || err != nil {
		t.Fatal(missing, err)
	}
	if err := c.CoreV1().ServiceAccounts("ns").Delete(context.Background(), "runner", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if missing, _ := e.missingTarget(context.Background(), "ns", "runner"); missing != "" {
		t.Fatalf("the deleted service account was not remembered as existing (missing %q): the test shows nothing", missing)
	}
	err := e.afterFailure(context.Background(), spec, failedCreate)
	var re *RunError
	if !errors.As(err, &re) || re.Reason != ReasonServiceAccountNotFound || re.Outcome != OutcomeNotRun || re.JobName != "job-a" {
		t.Fatalf("got %#v, want reason %s", err, ReasonServiceAccountNotFound)
	}
	for _, want := range []string{`service account "runner" does not exist in namespace "ns"`, "create_service_account = true", "job.service_account", event} {
		if !strings.Contains(re.Message, want) {
			t.Errorf("message %q lacks %q", re.Message, want)
		}
	}
	if missing, _ := e.missingTarget(context.Background(), "ns", "runner"); missing != targetServiceAccount {
		t.Errorf("after the failure: missing %q, want the service account (the answer dropped)", missing)
	}

	// A FailedCreate with the service account there (a quota, say) is left as it is, and
	// still drops the answers.
	c = fakeCluster()
	g := gateQuestions(c)
	g.open()
	e = &Executor{Client: c}
	e.checkPermissions(context.Background(), "ns", "runner", contract.SidecarPermissions())
	if err := e.afterFailure(context.Background(), spec, failedCreate); !errors.Is(err, failedCreate) {
		t.Errorf("got %v, want the FailedCreate unchanged", err)
	}
	if _, remembered := e.checkPermissions(context.Background(), "ns", "runner", contract.SidecarPermissions()); remembered {
		t.Error("the answers outlived a failed run")
	}
}

// Through Run: the first run's check lets the second start without pre-checks and without
// asking; a failed run drops the answers, so the next run asks again and, its rights
// withdrawn meanwhile, keeps pre-checks to report the denial.
func TestRun_RememberedAnswersAndTheirInvalidation(t *testing.T) {
	freezeClock(t)
	c := fakeCluster()
	var asked atomic.Int32
	var allowed atomic.Bool
	allowed.Store(true)
	answerReviews(c, func(*authorizationv1.LocalSubjectAccessReview) (bool, error) {
		asked.Add(1)
		return allowed.Load(), nil
	})
	run := func(id string, exit int32) (ics []string, err error) {
		spec := minimalSpec()
		spec.RunID = id
		spec.KeepResources = true
		built, _ := BuildJob(spec, contract.ActionCreate)
		phase := corev1.PodSucceeded
		if exit != 0 {
			phase = corev1.PodFailed
		}
		for _, o := range append(outputObjects(built.Job.Name, outputs.Harvest{Outputs: []byte(`{}`)}), finishedPod(built.Job.Name, phase, exit)) {
			if err := c.Tracker().Add(o); err != nil {
				t.Fatal(err)
			}
		}
		_, err = runWithTimeout(t, &Executor{Client: c}, spec)
		job, gerr := c.BatchV1().Jobs("ns").Get(context.Background(), built.Job.Name, metav1.GetOptions{})
		if gerr != nil {
			t.Fatal(gerr)
		}
		for _, ic := range job.Spec.Template.Spec.InitContainers {
			ics = append(ics, ic.Name)
		}
		return ics, err
	}
	if ics, err := run("run-1", 0); err != nil || has(ics, contract.ContainerPreChecks) || asked.Load() != 2 {
		t.Fatalf("first run: %v, init containers %v, %d reviews", err, ics, asked.Load())
	}
	allowed.Store(false) // withdrawn within the answer's life: not seen yet
	if ics, err := run("run-2", 0); err != nil || has(ics, contract.ContainerPreChecks) || asked.Load() != 2 {
		t.Fatalf("second run: %v, init containers %v, %d reviews in all; want the first run's answer used", err, ics, asked.Load())
	}
	if _, err := run("run-3", 1); err == nil {
		t.Fatal("the failing run succeeded")
	}
	if ics, err := run("run-4", 0); err != nil || !has(ics, contract.ContainerPreChecks) || asked.Load() != 4 {
		t.Errorf("after a failed run: %v, init containers %v, %d reviews in all; want the rights asked again and pre-checks kept", err, ics, asked.Load())
	}
}
