package containerdriver_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// One create with outputs and secret outputs, its requests counted on the wire (issue 21:
// requests per run). What a run needs to know and can learn without a request is not
// asked again: the Job's absence from the namespace's shared Job watch, the namespace's
// existence from its service account.
func TestAccExecutor_SingleRunRequests(t *testing.T) {
	t.Parallel()
	e := setup(t)
	counter := &countingTransport{n: map[string]int{}}
	cfg := testcluster.RestConfig(t)
	cfg.QPS, cfg.Burst = 200, 400
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter })
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
		"patch jobs":          0, // the Job is created running: its pod waits for the inputs Secret, not for a resume
		"post secrets":        1, // the inputs
		"list configmaps":     1, // the outputs, read once: cleanup deletes them by name
		"list secrets":        1, // the secret outputs, likewise
	} {
		if got := counter.get(k); got != want {
			t.Errorf("%q: %d requests, want %d", k, got, want)
		}
	}
	e.assertEmpty(t)
}
