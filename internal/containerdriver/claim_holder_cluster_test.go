package containerdriver_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// The create claims of one process in one namespace are kept alive by one Lease the
// process renews, not one renewal each (issue 21): n claims held for claimHold cost about
// claimHold/5s updates in all, and no reads. Counted on the wire.
func TestAccClaim_ManyClaimsRenewOneLease(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, counter := countingClient(t)
	ctx := context.Background()
	ex := &cd.Executor{Client: c}
	const n = 10
	const claimHold = 12 * time.Second
	claims := make([]*cd.CreateClaim, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims[i], errs[i] = ex.ClaimCreate(ctx, e.spec(t, map[string]any{"i": i}), func() string { return fmt.Sprintf("run-%d", i) })
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	before := counter.get("put leases") + counter.get("get leases")
	time.Sleep(claimHold) //testlint:allow bare-sleep the claims are held for a span of time to count the renewals in it
	renewals := counter.get("put leases") + counter.get("get leases") - before
	t.Logf("requests of %d claims held %s: %s", n, claimHold, counter)
	if renewals > 3 {
		t.Errorf("%d claims held for %s cost %d lease reads and updates, want at most 3 (one renewal every 5 s for all)", n, claimHold, renewals)
	}

	holder := ""
	for i := range n {
		l, err := e.c.CoordinationV1().Leases(e.ns).Get(ctx, cd.ClaimName(fmt.Sprintf("run-%d", i)), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h := l.Annotations[cd.AnnotationClaimHolder]
		if h == "" || (holder != "" && h != holder) {
			t.Fatalf("claim %s names holder %q, another %q: want one holder Lease for the process", l.Name, h, holder)
		}
		holder = h
	}
	hl, err := e.c.CoordinationV1().Leases(e.ns).Get(ctx, holder, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the holder Lease: %v", err)
	}
	if hl.Labels["containerdriver.io/role"] != cd.RoleClaimHolder {
		t.Errorf("holder Lease labels %v", hl.Labels)
	}
	if hl.ResourceVersion == "" || hl.Spec.RenewTime == nil || time.Since(hl.Spec.RenewTime.Time) > 30*time.Second {
		t.Errorf("holder Lease not renewed: %v", hl.Spec.RenewTime)
	}
	for _, cl := range claims {
		cl.Release(ctx)
	}
	if _, err := e.c.CoordinationV1().Leases(e.ns).Get(ctx, holder, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the holder Lease is still there once every claim was released: %v", err)
	}
}
