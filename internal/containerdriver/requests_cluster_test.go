package containerdriver_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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
