package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// The model of containerdriver_run as a containerdriver.RunSpec: the conversion, the
// rules between a run and its runner, and the domain's validation errors as diagnostics.

// specBuilder converts a model to a RunSpec, remembering which attributes were unknown,
// so plan-time validation can skip the FieldErrors that depend on them.
type specBuilder struct {
	ctx     context.Context
	diags   diag.Diagnostics
	unknown []containerdriver.Path
}

func (b *specBuilder) str(p containerdriver.Path, v types.String) string {
	if v.IsUnknown() {
		b.unknown = append(b.unknown, p)
	}
	return v.ValueString()
}

func (b *specBuilder) list(p containerdriver.Path, v types.List) []string {
	l, ok := stringList(b.ctx, v, attrPath(p), &b.diags)
	if !ok {
		b.unknown = append(b.unknown, p)
	}
	return l
}

func (b *specBuilder) strMap(p containerdriver.Path, v types.Map) map[string]string {
	m, ok := stringMap(b.ctx, v, attrPath(p), &b.diags)
	if !ok {
		b.unknown = append(b.unknown, p)
	}
	return m
}

// object decodes a nested object; false when it is null or unknown.
func (b *specBuilder) object(p containerdriver.Path, v types.Object, target any) bool {
	if v.IsUnknown() {
		b.unknown = append(b.unknown, p)
		return false
	}
	if v.IsNull() {
		return false
	}
	b.diags.Append(v.As(b.ctx, target, basetypes.ObjectAsOptions{})...)
	return !b.diags.HasError()
}

// isUnknown reports whether the attribute at p depends on an unknown value.
func (b *specBuilder) isUnknown(p containerdriver.Path) bool {
	for _, u := range b.unknown {
		if p.HasPrefix(u) {
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
	hasRunner := b.object(root("runner"), m.Runner, &runner)
	var job jobModel
	if b.object(root("job"), m.Job, &job) {
		spec.Job = containerdriver.JobSpec{
			Image:           b.str(root("job").Attr("image"), job.Image),
			Command:         b.list(root("job").Attr("command"), job.Command),
			SharedDirectory: b.str(root("job").Attr("shared_directory"), job.SharedDirectory),
			Variables:       b.strMap(root("job").Attr("variables"), job.Variables),
			SecretVariables: b.strMap(root("job").Attr("secret_variables"), job.SecretVariables),
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

	spec.Files = b.strMap(root("files"), m.Files)
	spec.SecretFiles = b.strMap(root("secret_files"), m.SecretFiles)

	var src sourceModel
	if b.object(root("source"), m.Source, &src) {
		spec.Source = &containerdriver.SourceSpec{
			URL:        b.str(root("source").Attr("url"), src.URL),
			Ref:        b.str(root("source").Attr("ref"), src.Ref),
			Path:       b.str(root("source").Attr("path"), src.Path),
			Username:   b.str(root("source").Attr("username"), src.Username),
			Password:   b.str(root("source").Attr("password"), src.Password),
			SSHKey:     b.str(root("source").Attr("ssh_key"), src.SSHKey),
			KnownHosts: b.str(root("source").Attr("known_hosts"), src.KnownHosts),
		}
	}

	var cc credentialsConfigModel
	if b.object(root("credentials_config"), m.CredentialsConfig, &cc) {
		spec.CredentialsConfig = &containerdriver.CredentialsConfig{
			Environment: b.strMap(root("credentials_config").Attr("environment"), cc.Environment),
			File:        b.str(root("credentials_config").Attr("file"), cc.File),
		}
		var sv scriptVariablesModel
		if b.object(root("credentials_config").Attr("script_variables"), cc.ScriptVariables, &sv) {
			spec.CredentialsConfig.ScriptVariables = &containerdriver.ScriptVariables{
				File:      b.str(root("credentials_config").Attr("script_variables").Attr("file"), sv.File),
				Variables: b.strMap(root("credentials_config").Attr("script_variables").Attr("variables"), sv.Variables),
			}
		}
	}

	credsAttr, credsValue := "credentials", m.Credentials
	if !m.CredentialsJSON.IsNull() {
		// A string: credentialsValue reads it as JSON. The two conflict (schema validator).
		credsAttr = "credentials_json"
		credsValue = types.DynamicValue(m.CredentialsJSON.StringValue)
		if m.CredentialsJSON.IsUnknown() {
			credsValue = types.DynamicUnknown()
		}
	}
	creds, known, err := credentialsValue(credsValue)
	switch {
	case !known:
		b.unknown = append(b.unknown, root("credentials"))
	case err != nil:
		b.diags.AddAttributeError(path.Root(credsAttr), "Invalid Credentials", credsAttr+": "+err.Error())
	default:
		spec.Credentials = creds
	}
	spec.SkipPermissionChecks = settings.SkipChecks
	spec.ManifestsOutput = b.str(root("manifests_output"), m.ManifestsOutput)

	inputs, known, err := dynamicToGo(m.Inputs)
	switch {
	case !known:
		b.unknown = append(b.unknown, root("inputs"))
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
	vars := b.strMap(root("secret_variables_wo"), m.SecretVariablesWO)
	files := b.strMap(root("secret_files_wo"), m.SecretFilesWO)
	singles := m.writeOnlySingles(b)
	wo := singles
	wo.SecretVariables, wo.SecretFiles = vars, files
	if wo.Empty() {
		spec.WriteOnlyFromCluster = !m.SecretsWOVersion.IsNull()
		return
	}
	merge := func(attr, other string, into *map[string]string, from map[string]string) {
		if *into == nil {
			*into = map[string]string{}
		}
		for _, k := range slices.Sorted(maps.Keys(from)) {
			if _, dup := (*into)[k]; dup {
				b.diags.AddAttributeError(path.Root(attr).AtMapKey(k), "Conflicting Secret",
					fmt.Sprintf("%s[%q] is also set in %s; set it in one place only.", attr, k, other))
				continue
			}
			(*into)[k] = from[k]
		}
	}
	merge("secret_variables_wo", "job.secret_variables", &spec.Job.SecretVariables, vars)
	merge("secret_files_wo", "secret_files", &spec.SecretFiles, files)
	// The schema's validators refuse a write-only value beside its plain form.
	if spec.Source != nil && singles.SourcePassword != "" {
		spec.Source.Password = singles.SourcePassword
	}
	if spec.Source != nil && singles.SourceSSHKey != "" {
		spec.Source.SSHKey = singles.SourceSSHKey
	}
	if spec.Target != nil && singles.TargetContent != "" {
		spec.Target.Content = singles.TargetContent
	}
	if singles.CredentialsJSON != "" {
		creds, err := writeonly.ParseCredentialsJSON(singles.CredentialsJSON)
		if err != nil {
			b.diags.AddAttributeError(path.Root("credentials_json_wo"), "Invalid Credentials", "credentials_json_wo: "+err.Error())
		}
		spec.Credentials = creds
	}
	spec.WriteOnly = &wo
}

// writeOnlySingles are source.password_wo, source.ssh_key_wo, credentials_json_wo and
// target.content_wo.
func (m *runResourceModel) writeOnlySingles(b *specBuilder) writeonly.Secrets {
	var wo writeonly.Secrets
	var src sourceModel
	if !m.Source.IsNull() && !m.Source.IsUnknown() && !m.Source.As(b.ctx, &src, basetypes.ObjectAsOptions{}).HasError() {
		wo.SourcePassword = b.str(root("source").Attr("password_wo"), src.PasswordWO)
		wo.SourceSSHKey = b.str(root("source").Attr("ssh_key_wo"), src.SSHKeyWO)
	}
	var t targetModel
	if !m.Target.IsNull() && !m.Target.IsUnknown() && !m.Target.As(b.ctx, &t, basetypes.ObjectAsOptions{}).HasError() {
		wo.TargetContent = b.str(root("target").Attr("content_wo"), t.ContentWO)
	}
	wo.CredentialsJSON = b.str(root("credentials_json_wo"), m.CredentialsJSONWO)
	return wo
}

// readWriteOnly takes the write-only attributes from the configuration: the plan and the
// state never hold them.
func (m *runResourceModel) readWriteOnly(ctx context.Context, config tfsdk.Config) diag.Diagnostics {
	var diags diag.Diagnostics
	diags.Append(config.GetAttribute(ctx, path.Root("secret_variables_wo"), &m.SecretVariablesWO)...)
	diags.Append(config.GetAttribute(ctx, path.Root("secret_files_wo"), &m.SecretFilesWO)...)
	diags.Append(config.GetAttribute(ctx, path.Root("credentials_json_wo"), &m.CredentialsJSONWO)...)
	fromConfig := func(obj types.Object, p path.Path, names ...string) types.Object {
		vals := map[string]attr.Value{}
		for _, n := range names {
			var v types.String
			diags.Append(config.GetAttribute(ctx, p.AtName(n), &v)...)
			vals[n] = v
		}
		return withObjectAttrs(obj, vals, &diags)
	}
	m.Source = fromConfig(m.Source, path.Root("source"), "password_wo", "ssh_key_wo")
	m.Target = fromConfig(m.Target, path.Root("target"), "content_wo")
	return diags
}

// withObjectAttrs is obj with the attributes in vals replaced; a null or unknown obj
// stays as it is.
func withObjectAttrs(obj types.Object, vals map[string]attr.Value, diags *diag.Diagnostics) types.Object {
	if obj.IsNull() || obj.IsUnknown() {
		return obj
	}
	attrs := maps.Clone(obj.Attributes())
	maps.Copy(attrs, vals)
	out, d := types.ObjectValue(obj.AttributeTypes(context.Background()), attrs)
	diags.Append(d...)
	if d.HasError() {
		return obj
	}
	return out
}

// resolveRunSettings applies the rules between a run and its runner. The conflicts
// (a namespace or service account set in both places, none at all) are reported by
// runSettingsProblems; here the run wins.
func resolveRunSettings(hasRunner bool, runner runnerConfigModel, job jobModel, skip types.Bool, providerSidecar string) (runSettings, []containerdriver.Path) {
	var s runSettings
	var unknown []containerdriver.Path
	pick := func(field containerdriver.Path, own, inherited types.String) string {
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
	s.Namespace = pick(root("job").Attr("namespace"), job.Namespace, runner.Namespace)
	s.ServiceAccount = pick(root("job").Attr("service_account"), job.ServiceAccount, runner.ServiceAccount)
	if hasRunner {
		if runner.PodTemplate.IsUnknown() {
			unknown = append(unknown, root("runner").Attr("pod_template"))
		} else if t := runner.PodTemplate.ValueString(); strings.TrimSpace(t) != "" {
			s.PodTemplates = append(s.PodTemplates, t)
		}
	}
	if job.PodTemplate.IsUnknown() {
		unknown = append(unknown, root("job").Attr("pod_template"))
	} else if t := job.PodTemplate.ValueString(); strings.TrimSpace(t) != "" {
		s.PodTemplates = append(s.PodTemplates, t)
	}
	switch {
	case skip.IsUnknown():
		unknown = append(unknown, root("skip_permission_checks"))
	case !skip.IsNull():
		s.SkipChecks = skip.ValueBool()
	case hasRunner && runner.SkipPermissionChecks.IsUnknown():
		unknown = append(unknown, root("skip_permission_checks"))
	case hasRunner:
		s.SkipChecks = runner.SkipPermissionChecks.ValueBool()
	}
	switch {
	case job.MountServiceAccountToken.IsUnknown():
		unknown = append(unknown, root("job").Attr("mount_service_account_token"))
	case !job.MountServiceAccountToken.IsNull():
		s.MountToken = job.MountServiceAccountToken.ValueBool()
	case hasRunner && runner.MountServiceAccountToken.IsUnknown():
		unknown = append(unknown, root("job").Attr("mount_service_account_token"))
	case hasRunner:
		s.MountToken = runner.MountServiceAccountToken.ValueBool()
	}
	s.SidecarImage = providerSidecar
	if hasRunner {
		if runner.SidecarImage.IsUnknown() {
			unknown = append(unknown, root("runner").Attr("sidecar_image"))
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
		if root("job").Attr("namespace").HasPrefix(u) {
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
		if b != nil && b.isUnknown(fe.Path) {
			continue
		}
		diags.AddAttributeError(attrPath(fe.Path), "Invalid Run Configuration", fe.Error())
	}
	return true
}
