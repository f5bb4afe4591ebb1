package provider

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubeClient_ReportsToTerraform runs a request through the client the provider builds,
// against a fake API server that answers with a Pod Security warning: the server sees the
// provider's user agent; the debug log has the request and response under the kubernetes
// subsystem, without the bearer token; the warning is logged and, collected for a run,
// becomes a warning diagnostic.
func TestKubeClient_ReportsToTerraform(t *testing.T) {
	const token = "s3cr3t-bearer-token"
	const warning = `would violate PodSecurity "restricted:latest": hostPath volumes (volume "host")`
	var gotAgent, gotAuth string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAgent, gotAuth = r.UserAgent(), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Warning", `299 - "`+strings.ReplaceAll(warning, `"`, `\"`)+`"`)
		w.Header().Add("Warning", `299 - "batch/v1beta1 CronJob is deprecated"`)
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ns1"}}`))
	}))
	defer srv.Close()

	k := &kubeClient{settings: kubeSettings{Host: srv.URL, Token: token, Insecure: true}, version: "1.2.3"}
	c, diags := k.Client()
	if diags.HasError() {
		t.Fatal(diags)
	}
	var logs bytes.Buffer
	ctx := withAPIWarnings(tflogtest.RootLogger(context.Background(), &logs))
	if _, err := c.CoreV1().Namespaces().Get(ctx, "ns1", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	if !strings.HasPrefix(gotAgent, "terraform-provider-containerdriver/1.2.3 (") {
		t.Errorf("user agent %q does not carry the provider's version", gotAgent)
	}
	if gotAuth != "Bearer "+token {
		t.Errorf("the server got Authorization %q", gotAuth)
	}
	entries, err := tflogtest.MultilineJSONDecode(&logs)
	if err != nil {
		t.Fatal(err)
	}
	var request, response, warned, deprecation bool
	for _, e := range entries {
		switch {
		case e["@message"] == "Kubernetes API request" && e["@module"] == "provider.kubernetes" && e["@level"] == "debug":
			request = strings.Contains(e["http_request_headers"].(string), "Authorization: ***") && e["http_url"] == srv.URL+"/api/v1/namespaces/ns1"
		case e["@message"] == "Kubernetes API response" && e["@module"] == "provider.kubernetes":
			response = e["http_status"] == float64(200)
		case e["@message"] == "Kubernetes API warning: "+warning && e["@level"] == "warn":
			warned = true
		case e["@message"] == "Kubernetes API warning: batch/v1beta1 CronJob is deprecated" && e["@level"] == "warn":
			deprecation = true
		}
	}
	if !request || !response || !warned || !deprecation {
		t.Errorf("request logged %v, response logged %v, warning logged %v, deprecation logged %v; log:\n%s", request, response, warned, deprecation, logsText(entries))
	}
	if strings.Contains(logsText(entries), token) {
		t.Errorf("the log holds the bearer token:\n%s", logsText(entries))
	}

	ds := podSecurityWarnings(ctx, "ns1")
	if len(ds) != 1 || ds[0].Severity() != diag.SeverityWarning || ds[0].Summary() != "Pod Security Warning" ||
		!strings.Contains(ds[0].Detail(), warning) || !strings.Contains(ds[0].Detail(), "namespace ns1") {
		t.Errorf("want one Pod Security warning diagnostic, got %v", ds)
	}
	if ds := podSecurityWarnings(context.Background(), "ns1"); len(ds) != 0 {
		t.Errorf("a context that collects nothing gives no diagnostics, got %v", ds)
	}
}

func logsText(entries []map[string]any) string {
	var b strings.Builder
	for _, e := range entries {
		for k, v := range e {
			b.WriteString(k)
			b.WriteString("=")
			if s, ok := v.(string); ok {
				b.WriteString(s)
			}
			b.WriteString(" ")
		}
		b.WriteString("\n")
	}
	return b.String()
}
