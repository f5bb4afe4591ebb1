package provider

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/client-go/rest"
)

// httpLogSubsystem is the tflog subsystem of the Kubernetes API requests: TF_LOG=DEBUG
// shows them.
const httpLogSubsystem = "kubernetes"

// userAgent names the provider and its version in the API server's audit log.
func userAgent(version string) string {
	if version == "" {
		version = "dev"
	}
	return fmt.Sprintf("terraform-provider-containerdriver/%s (%s/%s)", version, runtime.GOOS, runtime.GOARCH)
}

// instrument makes a client configuration report to Terraform: the user agent with the
// provider's version, API warnings to tflog (and to the run that caused them), and each
// request to the debug log.
func instrument(cfg *rest.Config, version string) {
	cfg.UserAgent = userAgent(version)
	cfg.WarningHandler = nil
	cfg.WarningHandlerWithContext = warningHandler{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &loggingTransport{next: rt} })
}

// loggingTransport logs each request and its response under httpLogSubsystem, at debug
// level: method, URL, headers (Authorization and cookies masked), status and duration.
// Bodies are never logged: they carry Secrets' data, and reading a watch's body would
// block until the watch ends (which is why terraform-plugin-sdk's
// NewSubsystemLoggingHTTPTransport, which dumps whole bodies, is not used).
type loggingTransport struct {
	next http.RoundTripper
}

func (t *loggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := tflog.NewSubsystem(req.Context(), httpLogSubsystem)
	start := time.Now()
	fields := map[string]any{
		"http_method":          req.Method,
		"http_url":             req.URL.Redacted(),
		"http_request_headers": maskedHeaders(req.Header),
	}
	tflog.SubsystemDebug(ctx, httpLogSubsystem, "Kubernetes API request", fields)
	res, err := t.next.RoundTrip(req)
	fields["duration_ms"] = time.Since(start).Milliseconds()
	if err != nil {
		fields["error"] = err.Error()
		tflog.SubsystemDebug(ctx, httpLogSubsystem, "Kubernetes API request failed", fields)
		return res, err
	}
	delete(fields, "http_request_headers")
	fields["http_status"] = res.StatusCode
	fields["http_response_headers"] = maskedHeaders(res.Header)
	tflog.SubsystemDebug(ctx, httpLogSubsystem, "Kubernetes API response", fields)
	return res, nil
}

// maskedHeaders renders headers for the log, without credentials.
func maskedHeaders(h http.Header) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		v := strings.Join(h.Values(k), ", ")
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie":
			v = "***"
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k + ": " + v)
	}
	return b.String()
}

// warningHandler logs every warning the API server returns (deprecated APIs, Pod Security
// in warn mode) with tflog.Warn, and hands it to the run whose request caused it, when
// that run collects them (withAPIWarnings).
type warningHandler struct{}

var _ rest.WarningHandlerWithContext = warningHandler{}

func (warningHandler) HandleWarningHeaderWithContext(ctx context.Context, code int, agent, text string) {
	if code != 299 || text == "" {
		return
	}
	tflog.Warn(ctx, "Kubernetes API warning: "+text, map[string]any{"agent": agent})
	if w, ok := ctx.Value(apiWarningsKey{}).(*apiWarnings); ok {
		w.add(text)
	}
}

type apiWarningsKey struct{}

// apiWarnings are the distinct API warnings of one operation, in order.
type apiWarnings struct {
	mu    sync.Mutex
	texts []string
}

func (w *apiWarnings) add(text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.texts {
		if t == text {
			return
		}
	}
	w.texts = append(w.texts, text)
}

// withAPIWarnings returns a context whose API requests collect their warnings for
// podSecurityWarnings.
func withAPIWarnings(ctx context.Context) context.Context {
	return context.WithValue(ctx, apiWarningsKey{}, &apiWarnings{})
}

// podSecurityWarnings turns the Pod Security warnings collected in ctx (withAPIWarnings)
// into warning diagnostics: the namespace warns about, but does not enforce, a level the
// run's pod breaks. Other warnings only go to the log.
func podSecurityWarnings(ctx context.Context, namespace string) diag.Diagnostics {
	var diags diag.Diagnostics
	w, ok := ctx.Value(apiWarningsKey{}).(*apiWarnings)
	if !ok {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range w.texts {
		if !strings.Contains(t, "PodSecurity") {
			continue
		}
		diags.AddWarning("Pod Security Warning", fmt.Sprintf(
			"The Kubernetes API server warned about the run's pod in namespace %s: %s\n\n"+
				"The namespace's Pod Security admission warns about this level without enforcing it, so the pod ran; "+
				"where the level is enforced it would be refused. The provider's own containers meet the restricted level: "+
				"the cause is in job.pod_template or the runner's pod_template.", namespace, t))
	}
	return diags
}
