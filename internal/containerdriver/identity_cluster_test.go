package containerdriver_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// On the real API server: creates racing for the namespace's claim key all end up with
// the one it kept, and two specs that differ only in a secret get two claims whose labels
// hold neither secret (issue 23, item 3).
func TestAccClaim_KeyCoversSecrets(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	exec := &cd.Executor{Client: e.c}
	base := e.spec(t, map[string]any{"v": 1})
	withSecret := func(v string) *cd.RunSpec {
		s := *base
		s.Job.SecretVariables = map[string]string{"TOKEN": v}
		return &s
	}
	keys := make([]string, 4)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = exec.CreateKey(ctx, withSecret("alpha-secret"))
		}()
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if keys[i] != keys[0] {
			t.Fatalf("racing creates got different digests for the same spec: %v", keys)
		}
	}
	a, err := exec.ClaimCreate(ctx, withSecret("alpha-secret"), func() string { return "run-alpha" })
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release(ctx)
	b, err := exec.ClaimCreate(ctx, withSecret("bravo-secret"), func() string { return "run-bravo" })
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release(ctx)
	la, err := e.c.CoordinationV1().Leases(e.ns).Get(ctx, cd.ClaimName("run-alpha"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := e.c.CoordinationV1().Leases(e.ns).Get(ctx, cd.ClaimName("run-bravo"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if la.Labels[cd.LabelCreateKey] == lb.Labels[cd.LabelCreateKey] {
		t.Errorf("claims of specs differing only in a secret share the digest %s", la.Labels[cd.LabelCreateKey])
	}
	if la.Labels[cd.LabelCreateKey] != keys[0] {
		t.Errorf("claim digest %s, CreateKey %s", la.Labels[cd.LabelCreateKey], keys[0])
	}
	for _, l := range []string{la.String(), lb.String()} {
		if strings.Contains(l, "alpha-secret") || strings.Contains(l, "bravo-secret") {
			t.Errorf("a claim holds a secret: %s", l)
		}
	}
	if _, err := e.c.CoreV1().Secrets(e.ns).Get(ctx, cd.ClaimKeySecret, metav1.GetOptions{}); err != nil {
		t.Errorf("the claim key Secret: %v", err)
	}
}

// An adopted run id whose Job runs with other secret values is refused: the Job, its
// pod and its Secrets are left as they are, and nothing else is started.
func TestAccClaim_AdoptedRunWithOtherSecretsIsRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	theirs := e.spec(t, map[string]any{"sleep_seconds": 5})
	theirs.Job.SecretVariables = map[string]string{"TOKEN": "theirs-secret"}
	built := e.crashedCaller(t, theirs)
	before, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, built.Job.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	mine := *theirs
	mine.Job.SecretVariables = map[string]string{"TOKEN": "mine-secret"}
	mine.Adopted = true
	_, _, err = e.run(t, &mine, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonAdoptedMismatch {
		t.Fatalf("got %v, want a refusal (%s)", err, cd.ReasonAdoptedMismatch)
	}
	if !strings.Contains(re.Message, "with other secret values") || !strings.Contains(re.Message, theirs.RunID) {
		t.Errorf("refusal does not say why or which run: %s", re.Message)
	}
	if strings.Contains(re.Detail(), "theirs-secret") || strings.Contains(re.Detail(), "mine-secret") {
		t.Errorf("refusal holds a secret: %s", re.Detail())
	}
	after, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, built.Job.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the other run's Job is gone: %v", err)
	}
	if after.UID != before.UID {
		t.Errorf("the other run's Job was replaced")
	}
	for _, s := range built.Secrets {
		got, err := e.c.CoreV1().Secrets(e.ns).Get(ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range s.Data {
			if string(got.Data[k]) != string(v) {
				t.Errorf("secret %s/%s was rewritten", s.Name, k)
			}
		}
	}
	// Its own create re-attaches and finishes; nothing is left.
	if _, _, err := e.run(t, theirs, contract.ActionCreate); err != nil {
		t.Fatalf("the run's own create: %v\n%s", err, detail(err))
	}
	e.assertEmpty(t)
}
