package provider

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const testKubeconfig = `apiVersion: v1
kind: Config
current-context: one
clusters:
- name: one
  cluster:
    server: https://one.example:6443
    certificate-authority-data: b25lLWNh
- name: two
  cluster:
    server: https://two.example:6443
    insecure-skip-tls-verify: true
users:
- name: one
  user:
    token: token-one
- name: two
  user:
    client-certificate-data: dHdvLWNlcnQ=
    client-key-data: dHdvLWtleQ==
contexts:
- name: one
  context: {cluster: one, user: one}
- name: two
  context: {cluster: two, user: two}
`

// restView is the part of a rest.Config the provider's settings decide.
type restView struct {
	Host       string
	Token      string
	CAData     string
	CertData   string
	KeyData    string
	Insecure   bool
	ServerName string
	Proxy      string
	Exec       *clientcmdapi.ExecConfig
}

func viewOf(t *testing.T, c *rest.Config) restView {
	t.Helper()
	v := restView{
		Host: c.Host, Token: c.BearerToken, CAData: string(c.CAData), CertData: string(c.CertData), KeyData: string(c.KeyData),
		Insecure: c.Insecure, ServerName: c.ServerName, Exec: c.ExecProvider,
	}
	if c.Proxy != nil {
		req, _ := http.NewRequest(http.MethodGet, c.Host, nil)
		u, err := c.Proxy(req)
		if err != nil {
			t.Fatal(err)
		}
		if u != nil {
			v.Proxy = u.String()
		}
	}
	return v
}

// isolate makes sure no kubeconfig of the machine running the tests can be picked up, and
// puts one where kubectl would look, to prove it is not read.
func isolate(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	trap := strings.ReplaceAll(testKubeconfig, "one.example", "home-kubeconfig.example")
	if err := os.WriteFile(filepath.Join(home, ".kube", "config"), []byte(trap), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(home, ".kube", "config"))
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

// notInCluster makes the test run as outside a pod, wherever it runs.
func notInCluster(t *testing.T) {
	t.Helper()
	saved := inClusterConfig
	inClusterConfig = func() (*rest.Config, error) { return nil, rest.ErrNotInCluster }
	t.Cleanup(func() { inClusterConfig = saved })
}

func TestKubeSettings_RestConfig(t *testing.T) {
	kc := isolate(t)
	notInCluster(t)
	exec := &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1beta1", Command: "aws", Args: []string{"eks", "get-token"},
		Env: []clientcmdapi.ExecEnvVar{{Name: "AWS_PROFILE", Value: "ops"}}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}
	tests := []struct {
		name    string
		s       kubeSettings
		want    restView
		wantErr string
	}{
		{
			name:    "nothing configured never reads ~/.kube/config nor KUBECONFIG",
			s:       kubeSettings{},
			wantErr: "no cluster is configured",
		},
		{
			name: "host and token",
			s:    kubeSettings{Host: "https://api.example:6443", Token: "secret-token", CACert: "ca-pem"},
			want: restView{Host: "https://api.example:6443", Token: "secret-token", CAData: "ca-pem"},
		},
		{
			name: "host and client certificate, server name, proxy",
			s: kubeSettings{Host: "https://10.0.0.1:6443", ClientCert: "cert-pem", ClientKey: "key-pem", CACert: "ca-pem",
				TLSServerName: "kubernetes.default", ProxyURL: "http://proxy.example:3128"},
			want: restView{Host: "https://10.0.0.1:6443", CertData: "cert-pem", KeyData: "key-pem", CAData: "ca-pem",
				ServerName: "kubernetes.default", Proxy: "http://proxy.example:3128"},
		},
		{
			name: "host, insecure, exec plugin",
			s:    kubeSettings{Host: "https://api.example", Insecure: true, Exec: exec},
			want: restView{Host: "https://api.example", Insecure: true, Exec: exec},
		},
		{
			name: "config_path uses the current context",
			s:    kubeSettings{ConfigPaths: []string{kc}},
			want: restView{Host: "https://one.example:6443", Token: "token-one", CAData: "one-ca"},
		},
		{
			name: "config_context selects another context",
			s:    kubeSettings{ConfigPaths: []string{kc}, Context: "two"},
			want: restView{Host: "https://two.example:6443", CertData: "two-cert", KeyData: "two-key", Insecure: true},
		},
		{
			name: "config_context_auth_info and config_context_cluster override the context's",
			s:    kubeSettings{ConfigPaths: []string{kc}, AuthInfo: "two", Cluster: "two"},
			want: restView{Host: "https://two.example:6443", CertData: "two-cert", KeyData: "two-key", Insecure: true},
		},
		{
			name: "host and token override the kubeconfig",
			s:    kubeSettings{ConfigPaths: []string{kc}, Host: "https://override.example", Token: "override-token"},
			want: restView{Host: "https://override.example", Token: "override-token", CAData: "one-ca"},
		},
		{
			name:    "a missing file among config_paths is an error",
			s:       kubeSettings{ConfigPaths: []string{filepath.Join(filepath.Dir(kc), "absent-is-checked-first"), kc}},
			wantErr: "absent-is-checked-first",
		},
		{
			name:    "a kubeconfig that does not exist is an error, not a silent fallback",
			s:       kubeSettings{ConfigPaths: []string{"/nonexistent/kubeconfig"}},
			wantErr: "/nonexistent/kubeconfig",
		},
		{
			name:    "an unknown context is an error",
			s:       kubeSettings{ConfigPaths: []string{kc}, Context: "three"},
			wantErr: "three",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.restConfig()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, viewOf(t, got)); d != "" {
				t.Errorf("rest.Config (-want +got):\n%s", d)
			}
		})
	}
}

// With no connection setting at all, the provider uses the pod's service account
// (rest.InClusterConfig); outside a pod that is the "no cluster" error; any setting turns
// it off, so a provider in a pod still obeys an explicit configuration.
func TestKubeSettings_InCluster(t *testing.T) {
	isolate(t)
	saved := inClusterConfig
	t.Cleanup(func() { inClusterConfig = saved })
	calls := 0
	inClusterConfig = func() (*rest.Config, error) {
		calls++
		return &rest.Config{Host: "https://10.96.0.1:443", BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token"}, nil
	}
	got, err := kubeSettings{QPS: 7}.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "https://10.96.0.1:443" || got.BearerTokenFile == "" || got.QPS != 7 || got.Burst != defaultBurst {
		t.Errorf("in-cluster config not used as is: host %q, token file %q, qps %v, burst %d", got.Host, got.BearerTokenFile, got.QPS, got.Burst)
	}
	for _, s := range []kubeSettings{{Token: "t"}, {Context: "c"}, {Exec: &clientcmdapi.ExecConfig{Command: "x"}}, {Insecure: true}} {
		calls = 0
		if _, err := s.restConfig(); err == nil || !strings.Contains(err.Error(), "no cluster is configured") || calls != 0 {
			t.Errorf("%+v: want the no-cluster error without the in-cluster configuration, got %v (in-cluster calls %d)", s, err, calls)
		}
	}
	inClusterConfig = func() (*rest.Config, error) { return nil, rest.ErrNotInCluster }
	if _, err := (kubeSettings{}).restConfig(); err == nil || !strings.Contains(err.Error(), "run the provider in a pod") {
		t.Errorf("outside a pod: want the no-cluster error naming the in-cluster option, got %v", err)
	}
	inClusterConfig = func() (*rest.Config, error) {
		return nil, errors.New("open /var/run/secrets/kubernetes.io/serviceaccount/token: no such file")
	}
	if _, err := (kubeSettings{}).restConfig(); err == nil || !strings.Contains(err.Error(), "service account") || !strings.Contains(err.Error(), "token") {
		t.Errorf("in a pod without a token: want the cause, got %v", err)
	}
}

func TestKubeSettings_ConfigPathsMerged(t *testing.T) {
	kc := isolate(t)
	second := filepath.Join(t.TempDir(), "second")
	if err := os.WriteFile(second, []byte(`apiVersion: v1
kind: Config
clusters:
- name: three
  cluster: {server: "https://three.example"}
users:
- name: three
  user: {token: token-three}
contexts:
- name: three
  context: {cluster: three, user: three}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := kubeSettings{ConfigPaths: []string{kc, second}, Context: "three"}.restConfig()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(restView{Host: "https://three.example", Token: "token-three"}, viewOf(t, got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestProviderModel_Settings(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{
		"KUBE_CONFIG_PATHS": "/a:/b", "KUBE_CTX": "ctx", "KUBE_CTX_AUTH_INFO": "user", "KUBE_CTX_CLUSTER": "cluster",
		"KUBE_HOST": "https://env.example", "KUBE_TOKEN": "env-token", "KUBE_CLUSTER_CA_CERT_DATA": "env-ca",
		"KUBE_CLIENT_CERT_DATA": "env-cert", "KUBE_CLIENT_KEY_DATA": "env-key", "KUBE_INSECURE": "true",
		"KUBE_TLS_SERVER_NAME": "env-sni", "KUBE_PROXY_URL": "http://env-proxy",
	}
	getenv := func(k string) string { return env[k] }
	null := providerModel{
		ConfigPath: types.StringNull(), ConfigPaths: types.ListNull(types.StringType), ConfigContext: types.StringNull(),
		ConfigContextAuthInfo: types.StringNull(), ConfigContextCluster: types.StringNull(), Host: types.StringNull(),
		Token: types.StringNull(), ClusterCACertificate: types.StringNull(), ClientCertificate: types.StringNull(),
		ClientKey: types.StringNull(), Insecure: types.BoolNull(), TLSServerName: types.StringNull(), ProxyURL: types.StringNull(),
		Exec: types.ObjectNull(execAttrTypes), SidecarImage: types.StringNull(),
	}

	t.Run("environment fills what is not set", func(t *testing.T) {
		s, unknown, diags := null.settings(ctx, getenv)
		if diags.HasError() || len(unknown) > 0 {
			t.Fatalf("diags %v, unknown %v", diags, unknown)
		}
		want := kubeSettings{
			ConfigPaths: []string{"/a", "/b"}, Context: "ctx", AuthInfo: "user", Cluster: "cluster", Host: "https://env.example",
			Token: "env-token", CACert: "env-ca", ClientCert: "env-cert", ClientKey: "env-key", Insecure: true,
			TLSServerName: "env-sni", ProxyURL: "http://env-proxy",
		}
		if d := cmp.Diff(want, s); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})

	t.Run("attributes win over the environment", func(t *testing.T) {
		m := null
		m.ConfigPath = types.StringValue("/explicit")
		m.Host = types.StringValue("https://attr.example")
		m.Insecure = types.BoolValue(false)
		m.Exec = types.ObjectValueMust(execAttrTypes, map[string]attr.Value{
			"api_version": types.StringValue("client.authentication.k8s.io/v1"),
			"command":     types.StringValue("get-token"),
			"args":        types.ListValueMust(types.StringType, []attr.Value{types.StringValue("--x")}),
			"env":         types.MapValueMust(types.StringType, map[string]attr.Value{"B": types.StringValue("2"), "A": types.StringValue("1")}),
		})
		s, _, diags := m.settings(ctx, getenv)
		if diags.HasError() {
			t.Fatal(diags)
		}
		if d := cmp.Diff([]string{"/explicit"}, s.ConfigPaths); d != "" {
			t.Errorf("config paths (-want +got):\n%s", d)
		}
		if s.Host != "https://attr.example" || s.Insecure {
			t.Errorf("host %q insecure %v", s.Host, s.Insecure)
		}
		wantExec := &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1", Command: "get-token", Args: []string{"--x"},
			Env: []clientcmdapi.ExecEnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
		if d := cmp.Diff(wantExec, s.Exec); d != "" {
			t.Errorf("exec (-want +got):\n%s", d)
		}
	})

	t.Run("unknown values defer the client", func(t *testing.T) {
		m := null
		m.Host = types.StringUnknown()
		m.Token = types.StringUnknown()
		_, unknown, diags := m.settings(ctx, func(string) string { return "" })
		if diags.HasError() {
			t.Fatal(diags)
		}
		if d := cmp.Diff([]string{"host", "token"}, unknown); d != "" {
			t.Errorf("unknown (-want +got):\n%s", d)
		}
		k := &kubeClient{unknown: unknown}
		if _, diags := k.Client(); !diags.HasError() || !strings.Contains(diags[0].Detail(), "host, token") {
			t.Errorf("Client() with unknown settings: %v", diags)
		}
	})

	t.Run("a bad KUBE_INSECURE is reported", func(t *testing.T) {
		_, _, diags := null.settings(ctx, func(k string) string {
			if k == "KUBE_INSECURE" {
				return "maybe"
			}
			return ""
		})
		if !diags.HasError() {
			t.Error("want an error")
		}
	})
}

func TestKubeClient_BuiltOnceOnFirstUse(t *testing.T) {
	isolate(t)
	calls := 0
	k := &kubeClient{
		settings: kubeSettings{Host: "https://api.example", Token: "t"},
		newClient: func(c *rest.Config) (kubernetes.Interface, error) {
			calls++
			if c.Host != "https://api.example" {
				return nil, errors.New("wrong host " + c.Host)
			}
			return fake.NewClientset(), nil
		},
	}
	for range 2 {
		if _, diags := k.Client(); diags.HasError() {
			t.Fatal(diags)
		}
	}
	if calls != 1 {
		t.Errorf("client built %d times, want once", calls)
	}
}

func TestDefaultSidecarImage(t *testing.T) {
	for version, want := range map[string]string{
		"1.2.3":  "ghcr.io/containerdriver/containerdriver-sidecars:1.2.3",
		"v1.2.3": "ghcr.io/containerdriver/containerdriver-sidecars:1.2.3",
		"dev":    "ghcr.io/containerdriver/containerdriver-sidecars:latest",
		"":       "ghcr.io/containerdriver/containerdriver-sidecars:latest",
	} {
		if got := defaultSidecarImage(version); got != want {
			t.Errorf("defaultSidecarImage(%q) = %q, want %q", version, got, want)
		}
	}
}

// An exec plugin given by a relative path (`command = "./get-token"`) runs from the
// directory Terraform runs in, and a bare name is looked up in PATH. client-go v0.37
// cleans the command (filepath.Clean drops "./"), which alone would turn "./get-token"
// into a PATH lookup of "get-token" and fail with "executable get-token not found".
func TestRestConfig_ExecRelativeCommand(t *testing.T) {
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.2"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "get-token"), []byte(`#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'
`), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, command := range []string{"./get-token", "get-token"} {
		t.Run(command, func(t *testing.T) {
			got = nil
			if command == "get-token" {
				t.Setenv("PATH", dir)
			}
			s := kubeSettings{Host: srv.URL, Insecure: true, Exec: &clientcmdapi.ExecConfig{
				APIVersion: "client.authentication.k8s.io/v1", Command: command, InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
			}}
			cfg, err := s.restConfig()
			if err != nil {
				t.Fatal(err)
			}
			c, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Discovery().ServerVersion(); err != nil {
				t.Fatalf("exec command %q: %v", command, err)
			}
			if len(got) != 1 || got[0] != "Bearer from-plugin" {
				t.Errorf("exec command %q: the server saw Authorization %q, want the plugin's token", command, got)
			}
			if s.Exec.Command != command {
				t.Errorf("restConfig changed the settings' command to %q", s.Exec.Command)
			}
		})
	}
}
