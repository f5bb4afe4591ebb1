package containerdriver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// countingTransport counts the requests that reach the API server, by verb and resource
// ("watch pods", "list jobs", "create secrets").
type countingTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	resource, named := "", false
	for i, p := range parts {
		if p == "namespaces" && i+2 < len(parts) {
			rest := parts[i+2:] // kind [name [subresource]]
			resource, named = rest[0], len(rest) > 1
			if len(rest) > 2 {
				resource += "/" + rest[2]
			}
		}
	}
	if resource == "" && len(parts) == 4 && parts[0] == "api" && parts[2] == "namespaces" {
		resource, named = "namespaces", true // /api/v1/namespaces/NAME
	}
	verb := strings.ToLower(r.Method)
	switch {
	case r.URL.Query().Get("watch") == "true" && r.URL.Query().Get("sendInitialEvents") == "true":
		verb = "watchlist" // a reflector's watch-list stream (client-go's default since v0.35)
	case r.URL.Query().Get("watch") == "true":
		verb = "watch"
	case verb == "get" && !named:
		verb = "list"
	case verb == "delete" && !named:
		verb = "deletecollection"
	}
	c.mu.Lock()
	c.n[verb+" "+resource]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// countingClient is a client of the test cluster whose requests c counts.
func countingClient(t *testing.T) (kubernetes.Interface, *countingTransport) {
	t.Helper()
	counter := &countingTransport{n: map[string]int{}}
	cfg := testcluster.RestConfig(t)
	cfg.QPS, cfg.Burst = 200, 400
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter })
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, counter
}

func (c *countingTransport) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *countingTransport) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.n)
}

// Runs of one provider process in one namespace share one watch per kind: N runs at once
// open one watch of pods, one of jobs and one of events, where each run used to open its
// own (issue 21), and one of outputs ConfigMaps, on which a run ends. Counted on the
// wire, with a wrapping RoundTripper. Each informer first asks for a watch-list stream;
// where the API server does not serve one (its WatchList feature is off by default before
// 1.32 and in 1.33, and it needs an etcd with the RequestWatchProgress feature, which
// Debian's 3.4 lacks; the local cluster runs etcd 3.6) it falls back to a list and a plain
// watch. So a kind has at most one watch-list request and one plain watch, where runs that
// did not share would make one each.
func TestAccExecutor_SharedWatches(t *testing.T) {
	e := setup(t)
	c, counter := countingClient(t)
	const n = 5
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spec := e.spec(t, map[string]any{"outputs": map[string]any{"i": i}})
			spec.RunID = fmt.Sprintf("%s-%d", spec.RunID, i)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := (&cd.Executor{Client: c}).Run(ctx, spec, contract.ActionCreate)
			if err == nil && fmt.Sprint(res.Outputs["i"]) != fmt.Sprint(i) {
				err = fmt.Errorf("run %d: outputs %v", i, res.Outputs)
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
	t.Logf("requests of %d runs: %s", n, counter)
	for _, kind := range []string{"pods", "jobs", "events", "configmaps"} {
		streams, watches := counter.get("watchlist "+kind), counter.get("watch "+kind)
		if streams > 1 || watches > 1 || streams+watches == 0 {
			t.Errorf("%d runs opened %d watch-list streams and %d watches of %s, want at most 1 of each and at least 1", n, streams, watches, kind)
		}
		if got := counter.get("list " + kind); got > 1+n {
			t.Errorf("%d runs listed %s %d times", n, kind, got)
		}
	}
	// The test's identity may create LocalSubjectAccessReviews and the runner account has
	// its rights: the provider checked them, so no pod started pre-checks.
	jobs := e.seen.JobSpecs(map[string]string{contract.LabelManagedBy: contract.ManagedByValue})
	if len(jobs) != n {
		t.Errorf("saw %d jobs, want %d", len(jobs), n)
	}
	for _, j := range jobs {
		for _, ic := range j.Spec.Template.Spec.InitContainers {
			if ic.Name == contract.ContainerPreChecks {
				t.Errorf("job %s has pre-checks though the provider found its rights allowed", j.Name)
			}
		}
	}
	e.assertEmpty(t)
}
