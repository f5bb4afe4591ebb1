package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeServiceAccount writes what the kubelet mounts into a pod.
func fakeServiceAccount(t *testing.T, srv *httptest.Server, ns string) string {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "namespace"), ns)
	writeFile(t, filepath.Join(dir, "token"), "the-token\n")
	if srv != nil {
		var ca bytes.Buffer
		if err := pem.Encode(&ca, &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "ca.crt"), ca.String())
	}
	return dir
}

func TestDeleteState(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer the-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/ns/secrets":
			_ = json.NewEncoder(w).Encode(map[string]any{"items": []any{
				map[string]any{"metadata": map[string]any{"name": "tfstate-default-abc"}},
				map[string]any{"metadata": map[string]any{"name": "tfstate-default-abc-1"}},
			}})
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/ns/secrets/"):
			_, _ = w.Write([]byte(`{}`))
		case r.Method == http.MethodDelete && r.URL.Path == "/apis/coordination.k8s.io/v1/namespaces/ns/leases/lock-tfstate-default-abc":
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","message":"not found"}`))
		default:
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"kind":"Status","message":"forbidden by the test"}`))
		}
	}))
	defer srv.Close()
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
	env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port}
	k, err := inClusterClient(fakeServiceAccount(t, srv, "ns"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := k.deleteState(context.Background(), "ns", "default", "abc")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"secret/tfstate-default-abc", "secret/tfstate-default-abc-1"}, deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	wantCalls := []string{
		"GET /api/v1/namespaces/ns/secrets?labelSelector=tfstate%3Dtrue%2CtfstateSecretSuffix%3Dabc%2CtfstateWorkspace%3Ddefault",
		"DELETE /api/v1/namespaces/ns/secrets/tfstate-default-abc",
		"DELETE /api/v1/namespaces/ns/secrets/tfstate-default-abc-1",
		"DELETE /apis/coordination.k8s.io/v1/namespaces/ns/leases/lock-tfstate-default-abc",
	}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("API calls (-want +got):\n%s", diff)
	}

	// Without the rights the error names what was refused.
	_, err = k.deleteState(context.Background(), "other", "default", "abc")
	if err == nil || !strings.Contains(err.Error(), "403 forbidden by the test") {
		t.Errorf("err = %v, want the API's message", err)
	}
	if _, err := inClusterClient(t.TempDir(), func(string) string { return "" }); err == nil {
		t.Error("inClusterClient worked outside a pod")
	}
}

func TestStateSecretSuffix(t *testing.T) {
	for _, tc := range []struct {
		runID, want string // want "": hashed
	}{
		{"0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a", "0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a"},
		// Would read as chunk 123456789012 of a Secret to Terraform's backend.
		{"0c1f9f4e-7d3a-4b8e-9a51-123456789012", ""},
		{"default/my-run", ""},
		{strings.Repeat("a", 64), ""},
	} {
		got := stateSecretSuffix(tc.runID)
		if err := validSuffix(got); err != nil {
			t.Errorf("stateSecretSuffix(%q) = %q: %v", tc.runID, got, err)
		}
		if tc.want != "" {
			if got != tc.want {
				t.Errorf("stateSecretSuffix(%q) = %q, want %q", tc.runID, got, tc.want)
			}
			continue
		}
		if !strings.HasPrefix(got, "run-") || len(got) != 24 {
			t.Errorf("stateSecretSuffix(%q) = %q, want run-<20 hex>", tc.runID, got)
		}
		if again := stateSecretSuffix(tc.runID); again != got {
			t.Errorf("stateSecretSuffix(%q) is not stable: %q then %q", tc.runID, got, again)
		}
	}
	if stateSecretSuffix("a-b") == stateSecretSuffix("a_b") {
		t.Error("run ids that differ must not share a state Secret")
	}
	for _, bad := range []string{"", "Upper", "state-1", strings.Repeat("x", 64), "-x"} {
		if validSuffix(bad) == nil {
			t.Errorf("validSuffix(%q) accepted an invalid suffix", bad)
		}
	}
}
