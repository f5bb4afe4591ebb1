package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
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

// The default backend: a kubernetes backend override keyed by the run id, in the pod's
// namespace; nothing when the module has its own backend; an explicit -backend wins.
func TestConfigureBackend(t *testing.T) {
	sa := fakeServiceAccount(t, nil, "team-a")
	for _, tc := range []struct {
		name        string
		backend     string
		stateNS     string
		suffix      string
		ownBackend  bool
		want        string // the override file, "" for none
		wantManaged bool
		wantErr     string
	}{
		{
			name:        "default",
			want:        `{"terraform":{"backend":{"kubernetes":{"in_cluster_config":true,"namespace":"team-a","secret_suffix":"0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a"}}}}`,
			wantManaged: true,
		},
		{
			name: "namespace and suffix given", stateNS: "states", suffix: "shared-db",
			want:        `{"terraform":{"backend":{"kubernetes":{"in_cluster_config":true,"namespace":"states","secret_suffix":"shared-db"}}}}`,
			wantManaged: true,
		},
		{name: "bad suffix", suffix: "db-2", wantErr: "must not end with '-' and a number"},
		{name: "the module's own backend", ownBackend: true},
		{name: "another backend", backend: "s3", want: `{"terraform":{"backend":{"s3":{}}}}`},
		{
			name: "kubernetes over the module's own", backend: "kubernetes", ownBackend: true,
			want:        `{"terraform":{"backend":{"kubernetes":{"in_cluster_config":true,"namespace":"team-a","secret_suffix":"0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a"}}}}`,
			wantManaged: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// A stale override from an earlier run in the same directory never survives.
			writeFile(t, filepath.Join(dir, overrideFileName), `{"stale": true}`)
			h := &helper{dir: dir, cfg: &config{
				backend: tc.backend, stateNS: tc.stateNS, stateSuffix: tc.suffix, saDir: sa,
				runID: "0c1f9f4e-7d3a-4b8e-9a51-2f7c3d1e6b0a", getenv: func(string) string { return "" },
				stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{},
			}}
			err := h.configureBackend(&module{dir: dir, ownBackend: tc.ownBackend})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if b, err := os.ReadFile(filepath.Join(dir, overrideFileName)); err == nil {
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatalf("override file is not JSON: %v", err)
				}
				c, _ := json.Marshal(v)
				got = string(c)
			}
			if got != tc.want {
				t.Errorf("override file = %s\nwant %s", got, tc.want)
			}
			if h.managedState != tc.wantManaged {
				t.Errorf("managedState = %v, want %v", h.managedState, tc.wantManaged)
			}
		})
	}
}
