package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// envCountRequests names a directory: when set, the provider counts the Kubernetes API
// requests it makes, by verb and resource, and the time its client held requests back
// (client-side throttling), and keeps the counts in DIR/requests-<pid>.json. It is a
// measuring instrument for `make bench` (hack/bench), not a user setting.
const envCountRequests = "CONTAINERDRIVER_COUNT_REQUESTS"

// requestCounts is the file's content.
type requestCounts struct {
	// Requests by "verb resource", e.g. "create secrets", "watch pods", "get jobs".
	Requests map[string]int `json:"requests"`
	// Throttled requests waited for the client's rate limiter, ThrottledSeconds in all.
	Throttled        int     `json:"throttled"`
	ThrottledSeconds float64 `json:"throttled_seconds"`
}

// countRequests makes cfg's client count its requests into dir (nothing when dir is "").
func countRequests(cfg *rest.Config, dir string) {
	if dir == "" {
		return
	}
	c := &requestCounter{
		file:   filepath.Join(dir, fmt.Sprintf("requests-%d.json", os.Getpid())),
		counts: requestCounts{Requests: map[string]int{}},
	}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := rt.RoundTrip(r)
			c.add(requestKey(r), 0)
			return resp, err
		})
	})
	// The clientset shares one limiter between its API groups when none is given and QPS
	// is set; this is that limiter, timed. (Without QPS each group has client-go's default
	// limiter of its own, which is left alone and not timed.)
	if cfg.QPS > 0 && cfg.RateLimiter == nil {
		cfg.RateLimiter = &timedLimiter{RateLimiter: flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst), c: c}
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type requestCounter struct {
	file   string
	mu     sync.Mutex
	counts requestCounts
}

// add counts a request (key) or a wait for the rate limiter (key "", waited), and
// rewrites the file: the provider has no exit hook, and terraform stops it right after
// its last request.
func (c *requestCounter) add(key string, waited time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != "" {
		c.counts.Requests[key]++
	} else {
		c.counts.Throttled++
		c.counts.ThrottledSeconds += waited.Seconds()
	}
	b, err := json.MarshalIndent(c.counts, "", "  ")
	if err != nil {
		return
	}
	tmp := c.file + ".tmp"
	if os.WriteFile(tmp, b, 0o644) == nil {
		_ = os.Rename(tmp, c.file)
	}
}

// throttleThreshold is how long a wait for the limiter must be to count as throttling:
// a free token is handed out in microseconds.
const throttleThreshold = 5 * time.Millisecond

type timedLimiter struct {
	flowcontrol.RateLimiter
	c *requestCounter
}

func (l *timedLimiter) Wait(ctx context.Context) error {
	start := time.Now()
	err := l.RateLimiter.Wait(ctx)
	if d := time.Since(start); d >= throttleThreshold {
		l.c.add("", d)
	}
	return err
}

// requestKey is "verb resource[/subresource]" of a Kubernetes API request, with the
// verbs of the API server's audit log: get, list, watch, create, update, patch, delete,
// deletecollection.
func requestKey(r *http.Request) string {
	// /api/v1/... or /apis/GROUP/VERSION/..., then [namespaces/NS/]RESOURCE[/NAME[/SUB]].
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return strings.ToLower(r.Method) + " " + r.URL.Path
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		parts = parts[2:]
	}
	if len(parts) == 0 || parts[0] == "" { // discovery
		return strings.ToLower(r.Method) + " " + r.URL.Path
	}
	resource, named := parts[0], len(parts) > 1
	if len(parts) > 2 {
		resource += "/" + parts[2]
	}
	verb := ""
	switch r.Method {
	case http.MethodGet:
		switch {
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
		if !named {
			verb = "deletecollection"
		}
	default:
		verb = strings.ToLower(r.Method)
	}
	return verb + " " + resource
}
