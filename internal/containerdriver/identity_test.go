package containerdriver

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// The claim digest covers everything that makes a run, secret values included: two
// resources that differ only in a secret never share a claim (issue 23, item 3).
func TestCreateKey_CoversSecrets(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	withSecret := func(v string) *RunSpec {
		s := minimalSpec()
		s.Job.SecretVariables = map[string]string{"TOKEN": v}
		return s
	}
	a, err := createKey(key, withSecret("alpha"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := createKey(key, withSecret("bravo"))
	if a == b {
		t.Errorf("two specs differing only in a secret variable have the same claim digest %s", a)
	}
	// The run id, and whether it was adopted, are not part of what makes the run.
	other := withSecret("alpha")
	other.RunID, other.Adopted = "another-id", true
	if again, _ := createKey(key, other); again != a {
		t.Errorf("the same inputs gave the digests %s and %s", a, again)
	}
	for name, mutate := range map[string]func(*RunSpec){
		"secret file":         func(s *RunSpec) { s.SecretFiles = map[string]string{"f": "x"} },
		"source password":     func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://git.example/r.git", Password: "p"} },
		"credentials value":   func(s *RunSpec) { s.Credentials = map[string]any{"a": "b"} },
		"write-only variable": func(s *RunSpec) { s.WriteOnly = &writeonly.Secrets{SecretVariables: map[string]string{"W": "w"}} },
	} {
		s := withSecret("alpha")
		mutate(s)
		if d, _ := createKey(key, s); d == a {
			t.Errorf("%s: not covered by the claim digest", name)
		}
	}
	// Keyed: the digest is no function of the spec alone, so a reader of the Lease label
	// cannot test a guess of the secret without the key.
	if d, _ := createKey([]byte(strings.Repeat("q", 32)), withSecret("alpha")); d == a {
		t.Errorf("another key gave the same digest")
	}
	if strings.Contains(a, "alpha") || len(a) != 40 {
		t.Errorf("digest %q", a)
	}
}

// The key is made once per namespace; two creates racing to make it end up with the one
// the API server kept.
func TestClaimSecret_CreateOrGetRace(t *testing.T) {
	c := fakeCluster()
	var once sync.Once
	c.PrependReactor("create", "secrets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		var raced bool
		once.Do(func() {
			// Another creator wins between this one's Get and Create.
			winner := &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: ClaimKeySecret, Namespace: "ns"},
				Data:       map[string][]byte{claimKeyField: []byte(strings.Repeat("w", 32))},
			}
			if err := c.Tracker().Add(winner); err != nil {
				t.Error(err)
			}
			raced = true
		})
		if raced {
			return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Resource: "secrets"}, ClaimKeySecret)
		}
		return false, nil, nil
	})
	e := &Executor{Client: c}
	k, err := e.claimSecret(context.Background(), "ns")
	if err != nil {
		t.Fatal(err)
	}
	if string(k) != strings.Repeat("w", 32) {
		t.Errorf("the loser of the race uses key %q, not the winner's", k)
	}
	k2, err := (&Executor{Client: fakeCluster()}).claimSecret(context.Background(), "ns")
	if err != nil || len(k2) != 32 {
		t.Errorf("fresh namespace: key %x, %v", k2, err)
	}
	c.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, ClaimKeySecret, errors.New("no"))
	})
	if _, err := e.claimSecret(context.Background(), "ns"); !errors.Is(err, ErrClaimsUnavailable) {
		t.Errorf("forbidden key: %v, want ErrClaimsUnavailable", err)
	}
}

// A claim another create returned (its state may have been lost) is adopted by a create
// with the very same inputs, and by no create whose secrets differ.
func TestClaimCreate_AdoptsOnlyTheSameSecrets(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	e := &Executor{Client: c}
	spec := func(v string) *RunSpec {
		s := minimalSpec()
		s.Job.SecretVariables = map[string]string{"TOKEN": v}
		return s
	}
	ids := map[string]string{}
	for _, v := range []string{"alpha", "bravo"} {
		cl, err := e.ClaimCreate(ctx, spec(v), func() string { return "run-" + v })
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Returned(ctx); err != nil {
			t.Fatal(err)
		}
		ids[v] = cl.RunID
	}
	// Another process: its claims are not this one's.
	leases, err := c.CoordinationV1().Leases("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range leases.Items {
		l := &leases.Items[i]
		l.Spec.HolderIdentity = ptr.To("a-dead-process")
		if _, err := c.CoordinationV1().Leases("ns").Update(ctx, l, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []string{"bravo", "alpha"} {
		cl, err := e.ClaimCreate(ctx, spec(v), func() string { return "fresh-" + v })
		if err != nil {
			t.Fatal(err)
		}
		if !cl.Adopted || cl.RunID != ids[v] {
			t.Errorf("secret %s: adopted=%v run %s, want run %s", v, cl.Adopted, cl.RunID, ids[v])
		}
		cl.Release(ctx)
	}
	cl, err := e.ClaimCreate(ctx, spec("charlie"), func() string { return "fresh-charlie" })
	if err != nil {
		t.Fatal(err)
	}
	if cl.Adopted || cl.RunID != "fresh-charlie" {
		t.Errorf("a create with another secret adopted run %s", cl.RunID)
	}
	cl.Release(ctx)
}

// A returned claim stays until the state holding its run is read back; then it goes.
func TestClaimCreate_ReturnedStaysUntilConfirmed(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	e := &Executor{Client: c}
	cl, err := e.ClaimCreate(ctx, minimalSpec(), func() string { return "run-x" })
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Returned(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := c.CoordinationV1().Leases("ns").Get(ctx, ClaimName("run-x"), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the returned claim is gone before the state was read back: %v", err)
	}
	if l.Annotations[AnnotationReturned] != "true" {
		t.Errorf("annotations %v: not marked returned", l.Annotations)
	}
	if err := e.ConfirmRecorded(ctx, "ns", "run-x"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoordinationV1().Leases("ns").Get(ctx, ClaimName("run-x"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the claim survived its confirmation: %v", err)
	}
	if err := e.ConfirmRecorded(ctx, "ns", "run-x"); err != nil {
		t.Errorf("confirming twice: %v", err)
	}
}

// holderDead decides from what it observes: a claim whose RenewTime says "just now" (a
// clock far ahead) is dead when nobody renews it, and one renewed meanwhile is alive
// whatever its timestamps say.
func TestHolderDead_ObservesInsteadOfComparingClocks(t *testing.T) {
	if testing.Short() {
		t.Skip("watches a claim for ClaimDuration")
	}
	ctx := context.Background()
	future := metav1.NewMicroTime(metav1.Now().Add(24 * 3600e9))
	past := metav1.NewMicroTime(metav1.Now().Add(-24 * 3600e9))
	mk := func(name string, renew metav1.MicroTime) *coordinationv1.Lease {
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", ResourceVersion: "1"},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("other"), RenewTime: &renew},
		}
	}
	dead, alive := mk("dead", future), mk("alive", past)
	c := fakeCluster(dead, alive)
	gets := 0
	c.PrependReactor("get", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.(k8stesting.GetAction).GetName() != "alive" {
			return false, nil, nil
		}
		gets++
		l := alive.DeepCopy()
		l.ResourceVersion = "2" // renewed by its holder
		return true, l, nil
	})
	e := &Executor{Client: c}
	var wg sync.WaitGroup
	var deadGot, aliveGot bool
	wg.Add(2)
	go func() { defer wg.Done(); deadGot = e.holderDead(ctx, dead, nil) }()
	go func() { defer wg.Done(); aliveGot = e.holderDead(ctx, alive, nil) }()
	wg.Wait()
	if !deadGot {
		t.Errorf("a claim nobody renewed, stamped by a clock a day ahead, was taken for alive")
	}
	if aliveGot {
		t.Errorf("a claim renewed meanwhile, stamped a day ago, was taken for dead")
	}
	if gets == 0 {
		t.Errorf("the renewed claim was never observed")
	}
}

// An adopted run id whose Job was made for other inputs is refused, not replaced.
func TestCheckAdopted_RefusesOtherInputs(t *testing.T) {
	ctx := context.Background()
	spec := minimalSpec()
	spec.Job.SecretVariables = map[string]string{"TOKEN": "mine"}
	spec.Adopted = true
	built, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	otherSecrets := minimalSpec()
	otherSecrets.Job.SecretVariables = map[string]string{"TOKEN": "theirs"}
	theirs, err := BuildJob(otherSecrets, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	otherSpec := minimalSpec()
	otherSpec.Inputs = map[string]any{"v": 2}
	otherSpec.Job.SecretVariables = map[string]string{"TOKEN": "mine"}
	otherBuilt, err := BuildJob(otherSpec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	running := func(j *JobObjects) []runtime.Object {
		objs := []runtime.Object{j.Job.DeepCopy()}
		for _, s := range j.Secrets {
			objs = append(objs, s.DeepCopy())
		}
		return objs
	}
	suspended := built.Job.DeepCopy()
	suspended.Spec.Suspend = ptr.To(true)
	for _, tc := range []struct {
		name    string
		objs    []runtime.Object
		refused string
	}{
		{"other secret values", running(theirs), "with other secret values"},
		{"other spec", running(otherBuilt), "for other inputs"},
		{"same inputs", running(built), ""},
		{"suspended, inputs not made yet", []runtime.Object{suspended}, ""},
		{"no job left", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Executor{Client: fakeCluster(tc.objs...)}
			err := e.checkAdopted(ctx, spec, built)
			if tc.refused == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			var re *RunError
			if !errors.As(err, &re) || re.Reason != ReasonAdoptedMismatch {
				t.Fatalf("got %v, want a RunError with reason %s", err, ReasonAdoptedMismatch)
			}
			for _, want := range []string{tc.refused, spec.RunID, "kubectl -n ns", "lease " + ClaimName(spec.RunID)} {
				if !strings.Contains(re.Message, want) {
					t.Errorf("message lacks %q: %s", want, re.Message)
				}
			}
			if strings.Contains(re.Message, "mine") || strings.Contains(re.Message, "theirs") {
				t.Errorf("message holds a secret: %s", re.Message)
			}
		})
	}
}

// An interrupted create of another configuration is reported; a returned one (its run is
// most likely recorded in a state not planned since) is not.
func TestClaimCreate_ReportsInterruptedNotReturned(t *testing.T) {
	ctx := context.Background()
	old := metav1.NewMicroTime(metav1.Now().Add(-2 * orphanAge))
	lease := func(name string, returned bool) *coordinationv1.Lease {
		l := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns",
				Labels:      map[string]string{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRole: RoleCreateClaim, LabelCreateKey: "other"},
				Annotations: map[string]string{AnnotationRunID: name + "-run"}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("gone"), RenewTime: &old},
		}
		if returned {
			l.Annotations[AnnotationReturned] = "true"
		}
		return l
	}
	e := &Executor{Client: fakeCluster(lease("interrupted", false), lease("returned", true))}
	cl, err := e.ClaimCreate(ctx, minimalSpec(), func() string { return "new" })
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Release(ctx)
	if len(cl.Orphans) != 1 || !strings.Contains(cl.Orphans[0], "interrupted-run") {
		t.Errorf("orphans %q: want only the interrupted create", cl.Orphans)
	}
}
