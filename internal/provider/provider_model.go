package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// providerModel is the provider block. Connection attributes copy the kubernetes provider.
type providerModel struct {
	ConfigPath            types.String `tfsdk:"config_path"`
	ConfigPaths           types.List   `tfsdk:"config_paths"`
	ConfigContext         types.String `tfsdk:"config_context"`
	ConfigContextAuthInfo types.String `tfsdk:"config_context_auth_info"`
	ConfigContextCluster  types.String `tfsdk:"config_context_cluster"`
	Host                  types.String `tfsdk:"host"`
	Token                 types.String `tfsdk:"token"`
	ClusterCACertificate  types.String `tfsdk:"cluster_ca_certificate"`
	ClientCertificate     types.String `tfsdk:"client_certificate"`
	ClientKey             types.String `tfsdk:"client_key"`
	Insecure              types.Bool   `tfsdk:"insecure"`
	TLSServerName         types.String `tfsdk:"tls_server_name"`
	ProxyURL              types.String `tfsdk:"proxy_url"`
	Exec                  types.Object `tfsdk:"exec"`
	SidecarImage          types.String `tfsdk:"sidecar_image"`

	// The client's rate limit (provider_ratelimit.go).
	QPS   types.Float64 `tfsdk:"qps"`
	Burst types.Int64   `tfsdk:"burst"`
}

var execAttrTypes = map[string]attr.Type{
	"api_version": types.StringType,
	"command":     types.StringType,
	"args":        types.ListType{ElemType: types.StringType},
	"env":         types.MapType{ElemType: types.StringType},
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

// Environment variables read when the matching attribute is not set (the kubernetes
// provider's names).
const (
	envConfigPath    = "KUBE_CONFIG_PATH"
	envConfigPaths   = "KUBE_CONFIG_PATHS"
	envContext       = "KUBE_CTX"
	envAuthInfo      = "KUBE_CTX_AUTH_INFO"
	envCluster       = "KUBE_CTX_CLUSTER"
	envHost          = "KUBE_HOST"
	envToken         = "KUBE_TOKEN"
	envCACert        = "KUBE_CLUSTER_CA_CERT_DATA"
	envClientCert    = "KUBE_CLIENT_CERT_DATA"
	envClientKey     = "KUBE_CLIENT_KEY_DATA"
	envInsecure      = "KUBE_INSECURE"
	envTLSServerName = "KUBE_TLS_SERVER_NAME"
	envProxyURL      = "KUBE_PROXY_URL"
	envSidecarImage  = "CONTAINERDRIVER_SIDECAR_IMAGE"
)

// kubeSettings is the provider's cluster connection with the environment applied: plain
// values, so the conversion to a rest.Config is testable without Terraform.
type kubeSettings struct {
	ConfigPaths   []string
	Context       string
	AuthInfo      string
	Cluster       string
	Host          string
	Token         string
	CACert        string
	ClientCert    string
	ClientKey     string
	Insecure      bool
	TLSServerName string
	ProxyURL      string
	Exec          *clientcmdapi.ExecConfig
	// QPS and Burst limit the client's requests (0: defaultQPS, defaultBurst).
	QPS   float32
	Burst int
}

// The client's default request rate: client-go's own (5 per second, bursts of 10) is
// shared by every run of an apply, and 50 runs in one apply would queue behind it. The
// runs of an apply start together, about 10 requests each before their first watch:
// with a burst of 100, 50 runs held back 344 requests for 279 s in all (make bench).
const (
	defaultQPS   = 50
	defaultBurst = 500
)

// settings resolves the model and the KUBE_* environment into kubeSettings. Attributes
// still unknown (a cluster created in the same apply, during plan) are returned by name;
// the client is only built once they are known.
func (m *providerModel) settings(ctx context.Context, getenv func(string) string) (kubeSettings, []string, diag.Diagnostics) {
	var (
		s       kubeSettings
		unknown []string
		diags   diag.Diagnostics
	)
	str := func(name string, v types.String, env string) string {
		if v.IsUnknown() {
			unknown = append(unknown, name)
			return ""
		}
		if v.IsNull() {
			return getenv(env)
		}
		return v.ValueString()
	}
	if p := str("config_path", m.ConfigPath, envConfigPath); p != "" {
		s.ConfigPaths = []string{p}
	}
	switch {
	case m.ConfigPaths.IsUnknown():
		unknown = append(unknown, "config_paths")
	case !m.ConfigPaths.IsNull():
		paths, ok := stringList(ctx, m.ConfigPaths, path.Root("config_paths"), &diags)
		if !ok {
			unknown = append(unknown, "config_paths")
		}
		s.ConfigPaths = append(s.ConfigPaths, paths...)
	default:
		if env := getenv(envConfigPaths); env != "" && len(s.ConfigPaths) == 0 {
			s.ConfigPaths = filepath.SplitList(env)
		}
	}
	s.Context = str("config_context", m.ConfigContext, envContext)
	s.AuthInfo = str("config_context_auth_info", m.ConfigContextAuthInfo, envAuthInfo)
	s.Cluster = str("config_context_cluster", m.ConfigContextCluster, envCluster)
	s.Host = str("host", m.Host, envHost)
	s.Token = str("token", m.Token, envToken)
	s.CACert = str("cluster_ca_certificate", m.ClusterCACertificate, envCACert)
	s.ClientCert = str("client_certificate", m.ClientCertificate, envClientCert)
	s.ClientKey = str("client_key", m.ClientKey, envClientKey)
	s.TLSServerName = str("tls_server_name", m.TLSServerName, envTLSServerName)
	s.ProxyURL = str("proxy_url", m.ProxyURL, envProxyURL)
	switch {
	case m.Insecure.IsUnknown():
		unknown = append(unknown, "insecure")
	case !m.Insecure.IsNull():
		s.Insecure = m.Insecure.ValueBool()
	case getenv(envInsecure) != "":
		b, err := strconv.ParseBool(getenv(envInsecure))
		if err != nil {
			diags.AddAttributeError(path.Root("insecure"), "Invalid Environment Variable",
				fmt.Sprintf("%s must be true or false, not %q.", envInsecure, getenv(envInsecure)))
		}
		s.Insecure = b
	}
	switch {
	case m.QPS.IsUnknown():
		unknown = append(unknown, "qps")
	case !m.QPS.IsNull():
		s.QPS = float32(m.QPS.ValueFloat64())
	}
	switch {
	case m.Burst.IsUnknown():
		unknown = append(unknown, "burst")
	case !m.Burst.IsNull():
		s.Burst = int(m.Burst.ValueInt64())
	}
	switch {
	case m.Exec.IsUnknown():
		unknown = append(unknown, "exec")
	case !m.Exec.IsNull():
		var e execModel
		diags.Append(m.Exec.As(ctx, &e, basetypes.ObjectAsOptions{})...)
		if diags.HasError() {
			return s, unknown, diags
		}
		if e.APIVersion.IsUnknown() || e.Command.IsUnknown() || e.Args.IsUnknown() || e.Env.IsUnknown() {
			unknown = append(unknown, "exec")
			break
		}
		args, okArgs := stringList(ctx, e.Args, path.Root("exec").AtName("args"), &diags)
		env, okEnv := stringMap(ctx, e.Env, path.Root("exec").AtName("env"), &diags)
		if !okArgs || !okEnv {
			unknown = append(unknown, "exec")
			break
		}
		s.Exec = &clientcmdapi.ExecConfig{
			APIVersion:      e.APIVersion.ValueString(),
			Command:         e.Command.ValueString(),
			Args:            args,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
		for _, k := range slices.Sorted(maps.Keys(env)) {
			s.Exec.Env = append(s.Exec.Env, clientcmdapi.ExecEnvVar{Name: k, Value: env[k]})
		}
	}
	return s, unknown, diags
}

// errNoCluster is returned when nothing says which cluster to use.
var errNoCluster = errors.New("no cluster is configured: set config_path (or KUBE_CONFIG_PATH), config_paths (KUBE_CONFIG_PATHS), or host (KUBE_HOST) with credentials in the provider block, " +
	"or run the provider in a pod, where it uses the pod's service account")

// inClusterConfig is rest.InClusterConfig; tests replace it.
var inClusterConfig = rest.InClusterConfig

// connectionSet reports whether any setting says how to reach or authenticate to a
// cluster; when none does, a provider running in a pod uses the pod's service account.
func (s kubeSettings) connectionSet() bool {
	return len(s.ConfigPaths) > 0 || s.Host != "" || s.Context != "" || s.AuthInfo != "" || s.Cluster != "" ||
		s.Token != "" || s.CACert != "" || s.ClientCert != "" || s.ClientKey != "" || s.TLSServerName != "" ||
		s.ProxyURL != "" || s.Insecure || s.Exec != nil
}

// restConfig turns the settings into a client configuration. Kubeconfig files are read
// only when config_path(s) name them: ~/.kube/config and KUBECONFIG are never read. With
// no connection setting at all, a provider in a pod uses the pod's service account
// (rest.InClusterConfig: KUBERNETES_SERVICE_HOST and the projected token, which client-go
// reads again when the kubelet rotates it).
func (s kubeSettings) restConfig() (*rest.Config, error) {
	if !s.connectionSet() {
		cfg, err := inClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, errNoCluster
		}
		if err != nil {
			return nil, fmt.Errorf("in-cluster configuration (the pod's service account): %w", err)
		}
		s.rates(cfg)
		return cfg, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{}
	overrides := &clientcmd.ConfigOverrides{}
	if len(s.ConfigPaths) > 0 {
		for _, p := range s.ConfigPaths {
			expanded, err := expandHome(p)
			if err != nil {
				return nil, err
			}
			if _, err := os.Stat(expanded); err != nil {
				return nil, fmt.Errorf("kubeconfig %q: %w", p, err)
			}
			rules.Precedence = append(rules.Precedence, expanded)
		}
		overrides.CurrentContext = s.Context
		overrides.Context.AuthInfo = s.AuthInfo
		overrides.Context.Cluster = s.Cluster
	} else if s.Host == "" {
		return nil, errNoCluster
	}
	if s.Host != "" {
		overrides.ClusterInfo.Server = s.Host
	}
	if s.CACert != "" {
		overrides.ClusterInfo.CertificateAuthorityData = []byte(s.CACert)
	}
	if s.Insecure {
		overrides.ClusterInfo.InsecureSkipTLSVerify = true
	}
	if s.TLSServerName != "" {
		overrides.ClusterInfo.TLSServerName = s.TLSServerName
	}
	if s.ProxyURL != "" {
		overrides.ClusterDefaults.ProxyURL = s.ProxyURL
	}
	if s.ClientCert != "" {
		overrides.AuthInfo.ClientCertificateData = []byte(s.ClientCert)
	}
	if s.ClientKey != "" {
		overrides.AuthInfo.ClientKeyData = []byte(s.ClientKey)
	}
	if s.Token != "" {
		overrides.AuthInfo.Token = s.Token
	}
	if s.Exec != nil {
		execCfg := *s.Exec
		// A relative path runs from the directory Terraform runs in. client-go (since
		// v0.37) cleans the command, and filepath.Clean turns "./get-token" into
		// "get-token", which exec then looks up in PATH; an absolute path keeps the
		// command the user wrote. A bare name is still looked up in PATH.
		if strings.ContainsRune(execCfg.Command, filepath.Separator) && !filepath.IsAbs(execCfg.Command) {
			abs, err := filepath.Abs(execCfg.Command)
			if err != nil {
				return nil, fmt.Errorf("exec command %q: %w", execCfg.Command, err)
			}
			execCfg.Command = abs
		}
		overrides.AuthInfo.Exec = &execCfg
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, errNoCluster
		}
		return nil, err
	}
	s.rates(cfg)
	return cfg, nil
}

// rates sets the client's request rate: qps and burst, else the provider's defaults.
func (s kubeSettings) rates(cfg *rest.Config) {
	cfg.QPS, cfg.Burst = defaultQPS, defaultBurst
	if s.QPS > 0 {
		cfg.QPS = s.QPS
	}
	if s.Burst > 0 {
		cfg.Burst = s.Burst
	}
}

func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("expand %q: %w", p, err)
	}
	return filepath.Join(home, p[1:]), nil
}

// kubeClient builds the Kubernetes client on first use, not in Configure, so a cluster
// created in the same apply (whose address is unknown while planning) can be used.
type kubeClient struct {
	settings kubeSettings
	unknown  []string
	// version is the provider's, for the user agent.
	version string
	// newClient is kubernetes.NewForConfig; tests replace it.
	newClient func(*rest.Config) (kubernetes.Interface, error)

	mu     sync.Mutex
	client kubernetes.Interface
}

// Known reports whether the provider configuration is fully known (false while planning
// against a cluster that does not exist yet).
func (k *kubeClient) Known() bool { return len(k.unknown) == 0 }

// Client returns the client, building it the first time.
func (k *kubeClient) Client() (kubernetes.Interface, diag.Diagnostics) {
	var diags diag.Diagnostics
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.client != nil {
		return k.client, nil
	}
	if !k.Known() {
		diags.AddError("Provider Configuration Not Known",
			fmt.Sprintf("The provider's %s is not known yet, so no Kubernetes client can be built. "+
				"This happens when the cluster is created in the same apply and its address is needed before it exists; "+
				"apply the cluster first (terraform apply -target=...) or make sure this resource depends on it.",
				strings.Join(k.unknown, ", ")))
		return nil, diags
	}
	cfg, err := k.settings.restConfig()
	if err != nil {
		diags.AddError("Kubernetes Client Configuration Error",
			"The provider could not build a Kubernetes client configuration from its settings: "+err.Error())
		return nil, diags
	}
	instrument(cfg, k.version)
	countRequests(cfg, os.Getenv(envCountRequests))
	newClient := k.newClient
	if newClient == nil {
		newClient = func(c *rest.Config) (kubernetes.Interface, error) { return kubernetes.NewForConfig(c) }
	}
	c, err := newClient(cfg)
	if err != nil {
		diags.AddError("Kubernetes Client Configuration Error", "The provider could not create a Kubernetes client: "+err.Error())
		return nil, diags
	}
	k.client = c
	return c, nil
}

// providerData is what the provider hands to its resources.
type providerData struct {
	version      string
	sidecarImage string
	kube         *kubeClient
}

func stringList(ctx context.Context, l types.List, p path.Path, diags *diag.Diagnostics) ([]string, bool) {
	if l.IsNull() {
		return nil, true
	}
	if l.IsUnknown() {
		return nil, false
	}
	var elems []types.String
	diags.Append(l.ElementsAs(ctx, &elems, false)...)
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		if e.IsUnknown() {
			return nil, false
		}
		if e.IsNull() {
			diags.AddAttributeError(p, "Invalid Null Element", "The list must not contain null.")
			continue
		}
		out = append(out, e.ValueString())
	}
	return out, true
}

func stringMap(ctx context.Context, m types.Map, p path.Path, diags *diag.Diagnostics) (map[string]string, bool) {
	if m.IsNull() {
		return nil, true
	}
	if m.IsUnknown() {
		return nil, false
	}
	var elems map[string]types.String
	diags.Append(m.ElementsAs(ctx, &elems, false)...)
	out := make(map[string]string, len(elems))
	known := true
	for k, e := range elems {
		if e.IsUnknown() {
			known = false
			continue
		}
		if e.IsNull() {
			diags.AddAttributeError(p.AtMapKey(k), "Invalid Null Value", "A map value must not be null.")
			continue
		}
		out[k] = e.ValueString()
	}
	return out, known
}
