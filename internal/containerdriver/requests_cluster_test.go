package containerdriver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// One create with outputs and secret outputs, its requests counted on the wire (issue 21:
// requests per run). What a run needs to know and can learn without a request is not
// asked again: the Job's absence from the namespace's shared Job watch, the namespace's
// existence from its service account, its outputs ConfigMaps from the namespace's shared
// watch of outputs ConfigMaps (the run ends on their arrival).
func TestAccExecutor_SingleRunRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	counter := &countingTransport{n: map[string]int{}}
	cfg := testcluster.RestConfig(t)
	cfg.QPS, cfg.Burst = 200, 400
	jobLists := &jobListTransport{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		jobLists.next = rt
		counter.next = jobLists
		return counter
	})
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := e.spec(t, map[string]any{"outputs": map[string]any{"o": "v"}, "secret_outputs": map[string]any{"s": "t"}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := (&cd.Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("%v\n%s", err, detail(err))
	}
	if res.Outputs["o"] != "v" {
		t.Errorf("outputs %v", res.Outputs)
	}
	total := 0
	counter.mu.Lock()
	for _, n := range counter.n {
		total += n
	}
	counter.mu.Unlock()
	t.Logf("%d requests: %s", total, counter)
	for k, want := range map[string]int{
		"get jobs":            0, // the shared Job watch knows the Job is not there
		"get namespaces":      0, // the service account exists, so its namespace does
		"get serviceaccounts": 1,
		"post jobs":           1,
		"list secrets":        1, // the secret outputs, read once: cleanup deletes them by name
		"patch jobs":          0, // the Job is created running: its pod waits for the inputs Secret, not for a resume
		"post secrets":        1, // the inputs
	} {
		if got := counter.get(k); got != want {
			t.Errorf("%q: %d requests, want %d", k, got, want)
		}
	}
	// The outputs ConfigMaps come from the shared watch (a watch-list stream, or a list and
	// a watch of every run's outputs ConfigMaps), never from a list of this Job's.
	if n := counter.get("watchlist configmaps") + counter.get("watch configmaps"); n == 0 {
		t.Errorf("no watch of the outputs ConfigMaps")
	}
	if got := jobLists.of("configmaps", res.JobName); got != 0 {
		t.Errorf("listed the Job's ConfigMaps %d times, want 0 (the shared watch holds them, and cleanup deletes them by name)", got)
	}
	e.assertEmpty(t)
}

// jobListTransport counts the list requests that select a Job's objects by its job label.
type jobListTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int // "resource job" -> lists
}

func (c *jobListTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q := r.URL.Query()
	if r.Method == http.MethodGet && q.Get("watch") != "true" {
		if sel, err := labels.Parse(q.Get("labelSelector")); err == nil {
			if job, ok := sel.RequiresExactMatch(contract.LabelJob); ok {
				parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
				c.mu.Lock()
				if c.n == nil {
					c.n = map[string]int{}
				}
				c.n[parts[len(parts)-1]+" "+job]++
				c.mu.Unlock()
			}
		}
	}
	return c.next.RoundTrip(r)
}

func (c *jobListTransport) of(resource, job string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[resource+" "+job]
}

// n creates at once through the executor with their claims, as the provider makes them
// (claim, run, mark returned), counted on the wire (issue 21: at most 8 requests per run
// with 50 at once). The claims come from one shared Lease informer, not one list of every
// claim per create, and each run's two Secrets (inputs, secret outputs) go in one
// deletecollection.
func TestAccExecutor_ConcurrentCreatesRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c, counter := countingClient(t)
	const n = 10
	ex := &cd.Executor{Client: c}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			spec := e.spec(t, map[string]any{"outputs": map[string]any{"i": i}, "secret_outputs": map[string]any{"s": "t"}})
			claim, err := ex.ClaimCreate(ctx, spec, func() string { return fmt.Sprintf("%s-%d", spec.RunID, i) })
			if err != nil {
				errs[i] = err
				return
			}
			spec.RunID = claim.RunID
			res, err := ex.Run(ctx, spec, contract.ActionCreate)
			if err != nil {
				claim.Release(ctx)
				errs[i] = fmt.Errorf("%w\n%s", err, detail(err))
				return
			}
			if fmt.Sprint(res.Outputs["i"]) != fmt.Sprint(i) {
				errs[i] = fmt.Errorf("outputs %v", res.Outputs)
			}
			if err := claim.Returned(ctx); err != nil {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("run %d: %v", i, err)
		}
	}
	total := 0
	counter.mu.Lock()
	for _, k := range counter.n {
		total += k
	}
	counter.mu.Unlock()
	t.Logf("%d creates at once: %d requests (%.1f per run): %s", n, total, float64(total)/n, counter)
	// The first create lists (a lone create starts no informer); the informer, started by
	// the second, lists once (after a refused watch-list stream, where the API server
	// serves none) and may list again after a watch error. One list per create is what it
	// replaces.
	if got := counter.get("list leases"); got > 3 {
		t.Errorf("%d creates listed Leases %d times, want at most 3 (the first create's, the shared informer's)", n, got)
	}
	if got := counter.get("watch leases") + counter.get("watchlist leases"); got == 0 || got > 3 {
		t.Errorf("%d creates opened %d Lease watches, want 1 to 3 (one informer)", n, got)
	}
	if got, by := counter.get("deletecollection secrets"), counter.get("delete secrets"); got != n || by != 0 {
		t.Errorf("%d runs: %d deletecollections and %d deletes by name of Secrets, want %d and 0", n, got, by, n)
	}
	e.assertEmpty(t)
	// What is left of the claims: each marked returned, for the next operation to confirm.
	leases, err := e.c.CoordinationV1().Leases(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	returned := 0
	for _, l := range leases.Items {
		if l.Annotations[cd.AnnotationReturned] != "" {
			returned++
		}
	}
	if returned != n {
		t.Errorf("%d claims marked returned, want %d", returned, n)
	}
}
