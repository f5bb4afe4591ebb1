package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

type runResourceModel struct {
	ID                types.String  `tfsdk:"id"`
	Runner            types.Object  `tfsdk:"runner"`
	Job               types.Object  `tfsdk:"job"`
	Files             types.Map     `tfsdk:"files"`
	SecretFiles       types.Map     `tfsdk:"secret_files"`
	Source            types.Object  `tfsdk:"source"`
	CredentialsConfig types.Object  `tfsdk:"credentials_config"`
	Credentials       types.Dynamic `tfsdk:"credentials"`
	CredentialsJSON   types.String  `tfsdk:"credentials_json"`
	// Write-only: set from the configuration in Create and Update (readWriteOnly), null
	// everywhere else.
	SecretVariablesWO    types.Map      `tfsdk:"secret_variables_wo"`
	SecretFilesWO        types.Map      `tfsdk:"secret_files_wo"`
	SecretsWOVersion     types.String   `tfsdk:"secrets_wo_version"`
	SkipPermissionChecks types.Bool     `tfsdk:"skip_permission_checks"`
	ManifestsOutput      types.String   `tfsdk:"manifests_output"`
	Inputs               types.Dynamic  `tfsdk:"inputs"`
	KeepJob              types.Bool     `tfsdk:"keep_job"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
	Outputs              types.Dynamic  `tfsdk:"outputs"`
	SecretOutputs        types.Dynamic  `tfsdk:"secret_outputs"`
	Manifests            types.Dynamic  `tfsdk:"manifests"`
	GitCommit            types.String   `tfsdk:"git_commit"`
	ImageDigest          types.String   `tfsdk:"image_digest"`
	JobName              types.String   `tfsdk:"job_name"`
	Namespace            types.String   `tfsdk:"namespace"`
	// The state directory and the container deployer contract (run_resource_deployer.go).
	Contract            types.String `tfsdk:"contract"`
	StatePath           types.String `tfsdk:"state_path"`
	Target              types.Object `tfsdk:"target"`
	ComponentDescriptor types.String `tfsdk:"component_descriptor"`
	Content             types.Map    `tfsdk:"content"`
	ForceDestroy        types.Bool   `tfsdk:"force_destroy"`
	UnschedulableGrace  types.String `tfsdk:"unschedulable_grace"`
	StateSize           types.Int64  `tfsdk:"state_size"`
	RunnerStatus        types.Object `tfsdk:"runner_status"`
	// Secret outputs as a JSON string (secret_outputs_json.go).
	SecretOutputsAsJSON types.Bool   `tfsdk:"secret_outputs_as_json"`
	SecretOutputsJSON   types.String `tfsdk:"secret_outputs_json"`
}

// runnerConfigModel is containerdriver_run.runner and containerdriver_runner.config.
type runnerConfigModel struct {
	Namespace            types.String `tfsdk:"namespace"`
	ServiceAccount       types.String `tfsdk:"service_account"`
	PodTemplate          types.String `tfsdk:"pod_template"`
	SkipPermissionChecks types.Bool   `tfsdk:"skip_permission_checks"`
	SidecarImage         types.String `tfsdk:"sidecar_image"`
	// MountServiceAccountToken: null means false.
	MountServiceAccountToken types.Bool `tfsdk:"mount_service_account_token"`
}

type jobModel struct {
	Image           types.String `tfsdk:"image"`
	Command         types.List   `tfsdk:"command"`
	SharedDirectory types.String `tfsdk:"shared_directory"`
	ServiceAccount  types.String `tfsdk:"service_account"`
	Namespace       types.String `tfsdk:"namespace"`
	PodTemplate     types.String `tfsdk:"pod_template"`
	Variables       types.Map    `tfsdk:"variables"`
	SecretVariables types.Map    `tfsdk:"secret_variables"`
	// MountServiceAccountToken: null means false.
	MountServiceAccountToken types.Bool `tfsdk:"mount_service_account_token"`
}

type sourceModel struct {
	URL        types.String `tfsdk:"url"`
	Ref        types.String `tfsdk:"ref"`
	Path       types.String `tfsdk:"path"`
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	SSHKey     types.String `tfsdk:"ssh_key"`
	KnownHosts types.String `tfsdk:"known_hosts"`
}

type credentialsConfigModel struct {
	Environment     types.Map    `tfsdk:"environment"`
	File            types.String `tfsdk:"file"`
	ScriptVariables types.Object `tfsdk:"script_variables"`
}

type scriptVariablesModel struct {
	File      types.String `tfsdk:"file"`
	Variables types.Map    `tfsdk:"variables"`
}

// specBuilder converts a model to a RunSpec, remembering which spec fields (in the
// domain's FieldError names) were unknown, so plan-time validation can skip them.
type specBuilder struct {
	ctx     context.Context
	diags   diag.Diagnostics
	unknown []string
}

func (b *specBuilder) str(field string, v types.String) string {
	if v.IsUnknown() {
		b.unknown = append(b.unknown, field)
	}
	return v.ValueString()
}

func (b *specBuilder) list(field string, p path.Path, v types.List) []string {
	l, ok := stringList(b.ctx, v, p, &b.diags)
	if !ok {
		b.unknown = append(b.unknown, field)
	}
	return l
}

func (b *specBuilder) strMap(field string, p path.Path, v types.Map) map[string]string {
	m, ok := stringMap(b.ctx, v, p, &b.diags)
	if !ok {
		b.unknown = append(b.unknown, field)
	}
	return m
}

// object decodes a nested object; false when it is null or unknown.
func (b *specBuilder) object(field string, v types.Object, target any) bool {
	if v.IsUnknown() {
		b.unknown = append(b.unknown, field)
		return false
	}
	if v.IsNull() {
		return false
	}
	b.diags.Append(v.As(b.ctx, target, basetypes.ObjectAsOptions{})...)
	return !b.diags.HasError()
}

// isUnknown reports whether a FieldError's field depends on an unknown value.
func (b *specBuilder) isUnknown(field string) bool {
	for _, u := range b.unknown {
		if u == "*" || field == u || strings.HasPrefix(field, u+".") || strings.HasPrefix(field, u+"[") {
			return true
		}
	}
	return false
}

// runSettings are the values a run takes either from itself or from its runner, resolved.
type runSettings struct {
	Namespace      string
	ServiceAccount string
	PodTemplates   []string
	SkipChecks     bool
	SidecarImage   string
	// MountToken is job.mount_service_account_token, else the runner's, else false.
	MountToken bool
}

// toSpec builds the RunSpec of m. providerSidecar is the provider's sidecar image.
func (m *runResourceModel) toSpec(ctx context.Context, providerSidecar string) (*containerdriver.RunSpec, *specBuilder) {
	b := &specBuilder{ctx: ctx}
	spec := &containerdriver.RunSpec{RunID: m.ID.ValueString()}

	var runner runnerConfigModel
	hasRunner := b.object("runner", m.Runner, &runner)
	var job jobModel
	if b.object("job", m.Job, &job) {
		spec.Job = containerdriver.JobSpec{
			Image:           b.str("job.image", job.Image),
			Command:         b.list("job.command", path.Root("job").AtName("command"), job.Command),
			SharedDirectory: b.str("job.shared_directory", job.SharedDirectory),
			Variables:       b.strMap("job.variables", path.Root("job").AtName("variables"), job.Variables),
			SecretVariables: b.strMap("secret_job_variables", path.Root("job").AtName("secret_variables"), job.SecretVariables),
		}
		if spec.Job.SharedDirectory == "" && job.SharedDirectory.IsNull() {
			spec.Job.SharedDirectory = defaultSharedDirectory
		}
	}
	settings, unknown := resolveRunSettings(hasRunner, runner, job, m.SkipPermissionChecks, providerSidecar)
	b.unknown = append(b.unknown, unknown...)
	spec.Job.Namespace = settings.Namespace
	spec.Job.ServiceAccount = settings.ServiceAccount
	spec.Job.PodTemplates = settings.PodTemplates
	spec.SkipPermissionChecks = settings.SkipChecks
	spec.SidecarImage = settings.SidecarImage
	spec.Job.MountServiceAccountToken = settings.MountToken

	spec.Files = b.strMap("files", path.Root("files"), m.Files)
	spec.SecretFile = b.strMap("secret_files", path.Root("secret_files"), m.SecretFiles)

	var src sourceModel
	if b.object("source", m.Source, &src) {
		spec.Source = &containerdriver.SourceSpec{
			URL:        b.str("source.url", src.URL),
			Ref:        b.str("source.ref", src.Ref),
			Path:       b.str("source.path", src.Path),
			Username:   b.str("source.username", src.Username),
			Password:   b.str("source.password", src.Password),
			SSHKey:     b.str("source.ssh_key", src.SSHKey),
			KnownHosts: b.str("source.known_hosts", src.KnownHosts),
		}
	}

	var cc credentialsConfigModel
	if b.object("credentials_config", m.CredentialsConfig, &cc) {
		spec.CredentialsConfig = &containerdriver.CredentialsConfig{
			Environment: b.strMap("credentials_config.environment", path.Root("credentials_config").AtName("environment"), cc.Environment),
			File:        b.str("credentials_config.file", cc.File),
		}
		var sv scriptVariablesModel
		if b.object("credentials_config.script_variables", cc.ScriptVariables, &sv) {
			spec.CredentialsConfig.ScriptVariables = &containerdriver.ScriptVariables{
				File: b.str("credentials_config.script_variables.file", sv.File),
				Variables: b.strMap("credentials_config.script_variables.variables",
					path.Root("credentials_config").AtName("script_variables").AtName("variables"), sv.Variables),
			}
		}
	}

	credsAttr, credsValue := "credentials", m.Credentials
	if !m.CredentialsJSON.IsNull() {
		// A string: credentialsValue reads it as JSON. The two conflict (schema validator).
		credsAttr = "credentials_json"
		credsValue = types.DynamicValue(m.CredentialsJSON)
		if m.CredentialsJSON.IsUnknown() {
			credsValue = types.DynamicUnknown()
		}
	}
	creds, known, err := credentialsValue(credsValue)
	switch {
	case !known:
		b.unknown = append(b.unknown, "credentials")
	case err != nil:
		b.diags.AddAttributeError(path.Root(credsAttr), "Invalid Credentials", credsAttr+": "+err.Error())
	default:
		spec.Credentials = creds
	}
	spec.SkipPermissionChecks = settings.SkipChecks
	spec.ManifestsOutput = b.str("manifests_output", m.ManifestsOutput)

	inputs, known, err := dynamicToGo(m.Inputs)
	switch {
	case !known:
		b.unknown = append(b.unknown, "inputs")
	case err != nil:
		b.diags.AddAttributeError(path.Root("inputs"), "Invalid Inputs", err.Error())
	default:
		spec.Inputs = inputs
	}
	spec.KeepResources = m.KeepJob.ValueBool()
	m.deployerToSpec(b, spec)
	m.writeOnlyToSpec(b, spec)
	return spec, b
}

// writeOnlyToSpec merges the write-only secrets into the spec and asks the executor to
// keep them for destroy; without them (destroy reads the state, where they are null) but
// with a secrets_wo_version, it asks for the kept ones.
func (m *runResourceModel) writeOnlyToSpec(b *specBuilder, spec *containerdriver.RunSpec) {
	vars := b.strMap("secret_variables_wo", path.Root("secret_variables_wo"), m.SecretVariablesWO)
	files := b.strMap("secret_files_wo", path.Root("secret_files_wo"), m.SecretFilesWO)
	if len(vars)+len(files) == 0 {
		spec.WriteOnlyFromCluster = !m.SecretsWOVersion.IsNull()
		return
	}
	merge := func(attr, other string, into *map[string]string, from map[string]string) {
		if *into == nil {
			*into = map[string]string{}
		}
		for _, k := range sortedKeys(from) {
			if _, dup := (*into)[k]; dup {
				b.diags.AddAttributeError(path.Root(attr).AtMapKey(k), "Conflicting Secret",
					fmt.Sprintf("%s[%q] is also set in %s; set it in one place only.", attr, k, other))
				continue
			}
			(*into)[k] = from[k]
		}
	}
	merge("secret_variables_wo", "job.secret_variables", &spec.Job.SecretVariables, vars)
	merge("secret_files_wo", "secret_files", &spec.SecretFile, files)
	spec.WriteOnly = &containerdriver.WriteOnlySecrets{SecretVariables: vars, SecretFiles: files}
}

// readWriteOnly takes the write-only attributes from the configuration: the plan and the
// state never hold them.
func (m *runResourceModel) readWriteOnly(ctx context.Context, config tfsdk.Config) diag.Diagnostics {
	var diags diag.Diagnostics
	diags.Append(config.GetAttribute(ctx, path.Root("secret_variables_wo"), &m.SecretVariablesWO)...)
	diags.Append(config.GetAttribute(ctx, path.Root("secret_files_wo"), &m.SecretFilesWO)...)
	return diags
}

// resolveRunSettings applies the rules between a run and its runner. The conflicts
// (a namespace or service account set in both places, none at all) are reported by
// runSettingsProblems; here the run wins.
func resolveRunSettings(hasRunner bool, runner runnerConfigModel, job jobModel, skip types.Bool, providerSidecar string) (runSettings, []string) {
	var s runSettings
	var unknown []string
	pick := func(field string, own, inherited types.String) string {
		if own.IsUnknown() || (own.IsNull() && hasRunner && inherited.IsUnknown()) {
			unknown = append(unknown, field)
			return ""
		}
		if !own.IsNull() {
			return own.ValueString()
		}
		if hasRunner {
			return inherited.ValueString()
		}
		return ""
	}
	s.Namespace = pick("job.namespace", job.Namespace, runner.Namespace)
	s.ServiceAccount = pick("job.service_account", job.ServiceAccount, runner.ServiceAccount)
	if hasRunner {
		if runner.PodTemplate.IsUnknown() {
			unknown = append(unknown, "runner.pod_template")
		} else if t := runner.PodTemplate.ValueString(); strings.TrimSpace(t) != "" {
			s.PodTemplates = append(s.PodTemplates, t)
		}
	}
	if job.PodTemplate.IsUnknown() {
		unknown = append(unknown, "job.pod_template")
	} else if t := job.PodTemplate.ValueString(); strings.TrimSpace(t) != "" {
		s.PodTemplates = append(s.PodTemplates, t)
	}
	switch {
	case skip.IsUnknown():
		unknown = append(unknown, "skip_permission_checks")
	case !skip.IsNull():
		s.SkipChecks = skip.ValueBool()
	case hasRunner && runner.SkipPermissionChecks.IsUnknown():
		unknown = append(unknown, "skip_permission_checks")
	case hasRunner:
		s.SkipChecks = runner.SkipPermissionChecks.ValueBool()
	}
	switch {
	case job.MountServiceAccountToken.IsUnknown():
		unknown = append(unknown, "job.mount_service_account_token")
	case !job.MountServiceAccountToken.IsNull():
		s.MountToken = job.MountServiceAccountToken.ValueBool()
	case hasRunner && runner.MountServiceAccountToken.IsUnknown():
		unknown = append(unknown, "job.mount_service_account_token")
	case hasRunner:
		s.MountToken = runner.MountServiceAccountToken.ValueBool()
	}
	s.SidecarImage = providerSidecar
	if hasRunner {
		if runner.SidecarImage.IsUnknown() {
			unknown = append(unknown, "sidecar_image")
		} else if !runner.SidecarImage.IsNull() && runner.SidecarImage.ValueString() != "" {
			s.SidecarImage = runner.SidecarImage.ValueString()
		}
	}
	return s, unknown
}

// runSettingsProblems reports the plan-time conflicts between a run and its runner.
func runSettingsProblems(hasRunner bool, runner runnerConfigModel, job jobModel) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, a := range []struct {
		name      string
		own, from types.String
		required  bool
	}{
		{"namespace", job.Namespace, runner.Namespace, false},
		{"service_account", job.ServiceAccount, runner.ServiceAccount, true},
	} {
		if a.own.IsUnknown() || (hasRunner && a.from.IsUnknown()) {
			continue
		}
		ownSet := !a.own.IsNull()
		fromSet := hasRunner && !a.from.IsNull() && a.from.ValueString() != ""
		switch {
		case ownSet && fromSet:
			diags.AddAttributeError(path.Root("job").AtName(a.name), "Conflicting "+titleName(a.name),
				fmt.Sprintf("job.%s is %q but the runner configuration already sets %s to %q. "+
					"Set it in one place only: remove job.%s to use the runner's.", a.name, a.own.ValueString(), a.name, a.from.ValueString(), a.name))
		case a.required && !ownSet && !fromSet:
			diags.AddAttributeError(path.Root("job").AtName(a.name), "Missing "+titleName(a.name),
				fmt.Sprintf("The run needs a %s: set job.%s, or set runner to a runner configuration that has one "+
					"(runner = containerdriver_runner.<name>.config).", strings.ReplaceAll(a.name, "_", " "), a.name))
		}
	}
	return diags
}

func titleName(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, " ")
}

// effectiveNamespace is the namespace the run uses; false when unknown.
func (m *runResourceModel) effectiveNamespace(ctx context.Context) (string, bool) {
	var runner runnerConfigModel
	var job jobModel
	if m.Runner.IsUnknown() || m.Job.IsUnknown() {
		return "", false
	}
	hasRunner := !m.Runner.IsNull()
	if hasRunner {
		if d := m.Runner.As(ctx, &runner, basetypes.ObjectAsOptions{}); d.HasError() {
			return "", false
		}
	}
	if !m.Job.IsNull() {
		if d := m.Job.As(ctx, &job, basetypes.ObjectAsOptions{}); d.HasError() {
			return "", false
		}
	}
	s, unknown := resolveRunSettings(hasRunner, runner, job, types.BoolNull(), "")
	for _, u := range unknown {
		if u == "job.namespace" {
			return "", false
		}
	}
	if s.Namespace == "" {
		return containerdriver.DefaultNamespace, true
	}
	return s.Namespace, true
}

// credentialsValue accepts an object or a JSON string holding one.
func credentialsValue(v types.Dynamic) (map[string]any, bool, error) {
	g, known, err := dynamicToGo(v)
	if !known || err != nil || g == nil {
		return nil, known, err
	}
	if s, ok := g.(string); ok {
		var obj map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			return nil, true, fmt.Errorf("a credentials string must hold a JSON object: %w", err)
		}
		return obj, true, nil
	}
	obj, ok := g.(map[string]any)
	if !ok {
		return nil, true, fmt.Errorf("credentials must be an object, or a JSON string of one, not a %T", g)
	}
	return obj, true, nil
}

// fieldPath maps a containerdriver FieldError's field ("job.variables[\"X\"]") to the
// attribute it is about. ok is false for a field with no attribute of its own.
func fieldPath(field string) (path.Path, bool) {
	renames := map[string][]string{
		"secret_job_variables": {"job", "secret_variables"},
		"sidecar_image":        {"runner", "sidecar_image"},
		"run_id":               {"id"},
	}
	var p path.Path
	first := true
	rest := field
	for rest != "" {
		var name, key string
		hasKey := false
		i := strings.IndexAny(rest, ".[")
		switch {
		case i < 0:
			name, rest = rest, ""
		case rest[i] == '.':
			name, rest = rest[:i], rest[i+1:]
		default:
			name = rest[:i]
			end := strings.Index(rest[i:], "\"]")
			if end < 0 {
				return path.Empty(), false
			}
			var err error
			key, err = unquote(rest[i+1 : i+end+1])
			if err != nil {
				return path.Empty(), false
			}
			hasKey = true
			rest = strings.TrimPrefix(rest[i+end+2:], ".")
		}
		steps := []string{name}
		if first {
			if r, ok := renames[name]; ok {
				steps = r
			}
		}
		for _, s := range steps {
			if s == "" {
				continue
			}
			if first {
				p = path.Root(s)
				first = false
			} else {
				p = p.AtName(s)
			}
		}
		if hasKey {
			if first {
				return path.Empty(), false
			}
			p = p.AtMapKey(key)
		}
	}
	if first {
		return path.Empty(), false
	}
	return p, true
}

func unquote(s string) (string, error) { return strconv.Unquote(s) }

// addSpecErrors turns the domain's validation errors into attribute diagnostics; fields
// that depend on unknown values are skipped (they are checked again at apply).
func addSpecErrors(diags *diag.Diagnostics, err error, b *specBuilder) bool {
	var fields containerdriver.ValidationErrors
	var one *containerdriver.FieldError
	switch {
	case errors.As(err, &fields):
	case errors.As(err, &one):
		fields = containerdriver.ValidationErrors{one}
	default:
		return false
	}
	for _, fe := range fields {
		if b != nil && b.isUnknown(fe.Field) {
			continue
		}
		if p, ok := fieldPath(fe.Field); ok {
			diags.AddAttributeError(p, "Invalid Run Configuration", fe.Field+": "+fe.Detail)
		} else {
			diags.AddError("Invalid Run Configuration", fe.Field+": "+fe.Detail)
		}
	}
	return true
}
