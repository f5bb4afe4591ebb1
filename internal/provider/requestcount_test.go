package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

func TestRequestKey(t *testing.T) {
	for _, tt := range []struct{ method, url, want string }{
		{"GET", "/api/v1/namespaces/ns/pods/p", "get pods"},
		{"GET", "/api/v1/namespaces/ns/pods?labelSelector=a%3Db", "list pods"},
		{"GET", "/api/v1/namespaces/ns/pods?watch=true&resourceVersion=1", "watch pods"},
		{"GET", "/api/v1/namespaces/ns/pods/p/log?container=runner", "get pods/log"},
		{"POST", "/apis/batch/v1/namespaces/ns/jobs", "create jobs"},
		{"PUT", "/api/v1/namespaces/ns/secrets/s", "update secrets"},
		{"PATCH", "/api/v1/namespaces/ns/configmaps/c", "patch configmaps"},
		{"DELETE", "/apis/batch/v1/namespaces/ns/jobs/j", "delete jobs"},
		{"DELETE", "/api/v1/namespaces/ns/secrets?labelSelector=x", "deletecollection secrets"},
		{"GET", "/api/v1/namespaces/ns", "get namespaces"},
		{"POST", "/api/v1/namespaces", "create namespaces"},
		{"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", "create selfsubjectaccessreviews"},
		{"GET", "/version", "get /version"},
	} {
		r := httptest.NewRequest(tt.method, tt.url, nil)
		if got := requestKey(r); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.method, tt.url, got, tt.want)
		}
	}
}

// With CONTAINERDRIVER_COUNT_REQUESTS set, the client keeps its counts in a file of that
// directory, and a burst above the limit shows as throttled requests.
func TestCountRequests(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodGet:
			_, _ = w.Write([]byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"c"}}`))
		default:
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := &rest.Config{Host: srv.URL, QPS: 2, Burst: 1}
	countRequests(cfg, dir)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 4 {
		if _, err := c.CoreV1().ConfigMaps("ns").Get(ctx, "c", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.CoreV1().Secrets("ns").Delete(ctx, "s", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("requests-%d.json", os.Getpid())))
	if err != nil {
		t.Fatal(err)
	}
	var got requestCounts
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"get configmaps": 4, "delete secrets": 1}, got.Requests); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	// A burst of 1 at 2 per second: the last 4 of 5 requests wait up to 500 ms each, less
	// the time the request before took. A token refilled at 20 per second (the first
	// version of this test) was often already there on a loaded machine, whose requests
	// take longer than 50 ms.
	if got.Throttled < 2 || got.ThrottledSeconds < 0.3 {
		t.Errorf("throttled %d requests for %.3fs, want at least 2 for 0.3s:\n%s", got.Throttled, got.ThrottledSeconds, b)
	}
	// Nothing is counted, and no file written, without the variable.
	plain := &rest.Config{Host: srv.URL}
	countRequests(plain, "")
	if plain.RateLimiter != nil || plain.WrapTransport != nil {
		t.Error("countRequests changed the configuration without a directory")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || strings.HasSuffix(entries[0].Name(), ".tmp") {
		t.Errorf("files in the directory: %v", entries)
	}
}
