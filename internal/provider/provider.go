// Package provider is the Terraform glue of the containerdriver provider: schemas, models,
// the conversion to containerdriver.RunSpec and diagnostics. The work is done by
// internal/containerdriver.
package provider

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

var (
	_ provider.Provider                   = (*containerdriverProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*containerdriverProvider)(nil)
)

// containerdriverProvider is the provider; version is the release it was built as.
type containerdriverProvider struct {
	version string
	// getenv reads the environment; tests replace it.
	getenv func(string) string
}

// New returns a provider constructor for providerserver.Serve.
func New(version string) func() provider.Provider {
	// client-go's reflectors log through klog to stderr, e.g. "watch ended with error:
	// context canceled" each time a run's watches stop. Progress reaches the user through
	// tflog; klog's lines would only be noise in Terraform's log. API warnings, which
	// client-go would also send to klog, go to tflog through the client's own
	// warning handler (instrument).
	klog.SetLogger(logr.Discard())
	return func() provider.Provider {
		return &containerdriverProvider{version: version, getenv: os.Getenv}
	}
}

func (p *containerdriverProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "containerdriver"
	resp.Version = p.version
}

func (p *containerdriverProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerSchema()
}

func providerSchema() schema.Schema {
	envNote := func(env string) string { return " Can also be set with the `" + env + "` environment variable." }
	return schema.Schema{
		MarkdownDescription: "Runs any container image as a Kubernetes Job following the Container Driver contract " +
			"(`ACTION`, `RESOURCE_INPUTS_FILE`, `OUTPUTS_FILE`, `SECRET_OUTPUTS_FILE`, `ERROR_FILE`) and brings its outputs back " +
			"as computed attributes.\n\n" +
			"The cluster connection uses the attribute names and `KUBE_*` environment variables of the `kubernetes` provider. " +
			"A kubeconfig file is only read when `config_path` or `config_paths` (or `KUBE_CONFIG_PATH`/`KUBE_CONFIG_PATHS`) name it: " +
			"`~/.kube/config` and `KUBECONFIG` are never read implicitly. " +
			"With no connection attribute set at all (nor its `KUBE_*` variable), a provider running in a pod of the cluster " +
			"(Terraform in a CI runner there) uses the pod's service account (its mounted token, read again as the kubelet rotates it); " +
			"[Requirements](guides/requirements.md) lists the rights it needs. " +
			"An `exec` plugin is called again when the credential it returned expires, also during a long run. " +
			"The client is built when a resource first needs the cluster, not when the provider is configured, " +
			"so the cluster may be created in the same apply.\n\n" +
			"Requests carry the user agent `terraform-provider-containerdriver/<version> (<os>/<arch>)`. " +
			"Warnings the API server returns (deprecated APIs, Pod Security admission in `warn` mode) are logged at `WARN`; " +
			"a Pod Security warning about a run's pod is also shown as a warning in Terraform's output. " +
			"With `TF_LOG=DEBUG` (or `TF_LOG_PROVIDER=DEBUG`) every API request and response is logged under the `kubernetes` " +
			"subsystem: method, URL, headers (with `Authorization` masked), status and duration; bodies are never logged, " +
			"since they carry the data of Secrets.",
		Attributes: map[string]schema.Attribute{
			"config_path": schema.StringAttribute{
				MarkdownDescription: "Path to a kubeconfig file." + envNote(envConfigPath),
				Optional:            true,
				Validators: []validator.String{
					stringvalidator.ConflictsWith(path.MatchRoot("config_paths")),
				},
			},
			"config_paths": schema.ListAttribute{
				MarkdownDescription: "Paths to kubeconfig files, merged in order as kubectl merges `KUBECONFIG`." +
					" Can also be set with the `" + envConfigPaths + "` environment variable (a list separated by `:`, or `;` on Windows).",
				Optional:    true,
				ElementType: types.StringType,
				Validators:  []validator.List{listvalidator.SizeAtLeast(1)},
			},
			"config_context": schema.StringAttribute{
				MarkdownDescription: "The kubeconfig context to use instead of its current context." + envNote(envContext),
				Optional:            true,
			},
			"config_context_auth_info": schema.StringAttribute{
				MarkdownDescription: "The kubeconfig user to use instead of the context's." + envNote(envAuthInfo),
				Optional:            true,
			},
			"config_context_cluster": schema.StringAttribute{
				MarkdownDescription: "The kubeconfig cluster to use instead of the context's." + envNote(envCluster),
				Optional:            true,
			},
			"host": schema.StringAttribute{
				MarkdownDescription: "The address of the Kubernetes API server (`https://host:port`). " +
					"Overrides the kubeconfig's server when a kubeconfig is used." + envNote(envHost),
				Optional: true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "A bearer token to authenticate to the API server." + envNote(envToken),
				Optional:            true,
				Sensitive:           true,
			},
			"cluster_ca_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded root certificates of the API server." + envNote(envCACert),
				Optional:            true,
				Sensitive:           true,
			},
			"client_certificate": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded client certificate for TLS authentication." + envNote(envClientCert),
				Optional:            true,
				Sensitive:           true,
			},
			"client_key": schema.StringAttribute{
				MarkdownDescription: "PEM-encoded client key for TLS authentication." + envNote(envClientKey),
				Optional:            true,
				Sensitive:           true,
			},
			"insecure": schema.BoolAttribute{
				MarkdownDescription: "Do not verify the API server's certificate. For tests only." + envNote(envInsecure),
				Optional:            true,
			},
			"tls_server_name": schema.StringAttribute{
				MarkdownDescription: "The server name used to verify the API server's certificate, when it differs from `host`." + envNote(envTLSServerName),
				Optional:            true,
			},
			"proxy_url": schema.StringAttribute{
				MarkdownDescription: "URL of the proxy to reach the API server through (`http://`, `https://` or `socks5://`)." + envNote(envProxyURL),
				Optional:            true,
			},
			"sidecar_image": schema.StringAttribute{
				MarkdownDescription: "The image holding the sidecars (`outputs-fetcher`, `pre-checks`, `git-init`, `state-restore`), for runs whose runner " +
					"configuration does not name one. Defaults to `" + containerdriver.DefaultSidecarImageRepository + ":<provider version>` " +
					"(`:latest` for a development build)." + envNote(envSidecarImage),
				Optional:   true,
				Validators: []validator.String{validImage()},
			},
			"qps":   qpsAttribute(),
			"burst": burstAttribute(),
		},
		Blocks: map[string]schema.Block{
			"exec": schema.SingleNestedBlock{
				MarkdownDescription: "Get credentials from a command (a client-go credential plugin, such as `aws eks get-token`). " +
					"The command's output is never stored in the state.",
				Attributes: map[string]schema.Attribute{
					"api_version": schema.StringAttribute{
						MarkdownDescription: "The `client.authentication.k8s.io` version the plugin speaks, e.g. `client.authentication.k8s.io/v1beta1`.",
						Optional:            true,
						Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("command"))},
					},
					"command": schema.StringAttribute{
						MarkdownDescription: "The command to run: a name is looked up in `PATH`, a relative path (`./get-token`) is relative to the directory Terraform runs in.",
						Optional:            true,
						Validators:          []validator.String{stringvalidator.AlsoRequires(path.MatchRelative().AtParent().AtName("api_version"))},
					},
					"args": schema.ListAttribute{
						MarkdownDescription: "Arguments of the command.",
						Optional:            true,
						ElementType:         types.StringType,
					},
					"env": schema.MapAttribute{
						MarkdownDescription: "Environment variables set for the command.",
						Optional:            true,
						Sensitive:           true,
						ElementType:         types.StringType,
					},
				},
			},
		},
	}
}

func (p *containerdriverProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateConnection(&m, &resp.Diagnostics)
	// An exec block present but empty would fall back to no authentication without a word.
	if !m.Exec.IsNull() && !m.Exec.IsUnknown() {
		if cmd, ok := m.Exec.Attributes()["command"].(types.String); ok && cmd.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root("exec").AtName("command"), "Missing Exec Command",
				"The exec block needs a command and an api_version.")
		}
	}
}

func (p *containerdriverProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	getenv := p.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	settings, unknown, diags := m.settings(ctx, getenv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	sidecar := m.SidecarImage.ValueString()
	if m.SidecarImage.IsNull() {
		sidecar = getenv(envSidecarImage)
	}
	if sidecar == "" {
		sidecar = defaultSidecarImage(p.version)
	}
	data := &providerData{
		version:      p.version,
		sidecarImage: sidecar,
		kube:         &kubeClient{settings: settings, unknown: unknown, version: p.version},
	}
	resp.ResourceData = data
	resp.DataSourceData = data
}

// defaultSidecarImage is the released sidecar image of the same version as the provider.
// A development build has no released image of its own and uses the latest one.
func defaultSidecarImage(version string) string {
	tag := strings.TrimPrefix(version, "v")
	if tag == "" || tag == "dev" || strings.Contains(tag, "+") {
		tag = "latest"
	}
	return containerdriver.DefaultSidecarImageRepository + ":" + tag
}

func (p *containerdriverProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewRunResource,
		NewRunnerResource,
	}
}

func (p *containerdriverProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return nil
}

// providerDataFrom is what a resource's Configure receives from the provider; nil before
// the provider is configured (or, with a diagnostic, when it is of another type).
func providerDataFrom(req resource.ConfigureRequest, resp *resource.ConfigureResponse) *providerData {
	if req.ProviderData == nil {
		return nil
	}
	data, ok := req.ProviderData.(*providerData)
	if !ok {
		resp.Diagnostics.AddError("Unexpected Provider Data", fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider.", req.ProviderData))
		return nil
	}
	return data
}
