package provider

import (
	"context"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	rbacv1 "k8s.io/api/rbac/v1"
)

type runnerResourceModel struct {
	ID                   types.String `tfsdk:"id"`
	Namespace            types.String `tfsdk:"namespace"`
	ServiceAccount       types.String `tfsdk:"service_account"`
	PodTemplate          types.String `tfsdk:"pod_template"`
	SkipPermissionChecks types.Bool   `tfsdk:"skip_permission_checks"`
	SidecarImage         types.String `tfsdk:"sidecar_image"`
	// MountServiceAccountToken: null means false.
	MountServiceAccountToken types.Bool     `tfsdk:"mount_service_account_token"`
	CreateNamespace          types.Bool     `tfsdk:"create_namespace"`
	CreateServiceAccount     types.Bool     `tfsdk:"create_service_account"`
	AllowStatePath           types.Bool     `tfsdk:"allow_state_path"`
	ExtraRules               types.List     `tfsdk:"extra_rules"`
	Config                   types.Object   `tfsdk:"config"`
	Timeouts                 timeouts.Value `tfsdk:"timeouts"`
}

type policyRuleModel struct {
	APIGroups     types.List `tfsdk:"api_groups"`
	Resources     types.List `tfsdk:"resources"`
	Verbs         types.List `tfsdk:"verbs"`
	ResourceNames types.List `tfsdk:"resource_names"`
}

// configValue is the config object. An unknown attribute stays unknown on its own, so a
// run using the config only waits for what it needs (an unknown pod template must not
// make the namespace, and so a replacement of the run, uncertain).
func (m *runnerResourceModel) configValue() (types.Object, diag.Diagnostics) {
	return types.ObjectValue(runnerConfigAttrTypes, map[string]attr.Value{
		"namespace":                   m.Namespace,
		"service_account":             m.ServiceAccount,
		"pod_template":                m.PodTemplate,
		"skip_permission_checks":      m.SkipPermissionChecks,
		"sidecar_image":               m.SidecarImage,
		"mount_service_account_token": m.MountServiceAccountToken,
	})
}

func (m *runnerResourceModel) idValue() types.String {
	if m.Namespace.IsUnknown() || m.ServiceAccount.IsUnknown() {
		return types.StringUnknown()
	}
	return types.StringValue(m.Namespace.ValueString() + "/" + m.ServiceAccount.ValueString())
}

// env is the runner environment the model declares.
func (m *runnerResourceModel) env(ctx context.Context) (runnerenv.Env, diag.Diagnostics) {
	var diags diag.Diagnostics
	env := runnerenv.Env{
		Namespace:            m.Namespace.ValueString(),
		ServiceAccount:       m.ServiceAccount.ValueString(),
		CreateNamespace:      m.CreateNamespace.ValueBool(),
		CreateServiceAccount: m.CreateServiceAccount.ValueBool(),
		AllowStatePath:       m.AllowStatePath.ValueBool(),
	}
	if m.ExtraRules.IsNull() || m.ExtraRules.IsUnknown() {
		return env, diags
	}
	var rules []policyRuleModel
	diags.Append(m.ExtraRules.ElementsAs(ctx, &rules, false)...)
	for i, r := range rules {
		p := path.Root("extra_rules").AtListIndex(i)
		groups, _ := stringList(ctx, r.APIGroups, p.AtName("api_groups"), &diags)
		resources, _ := stringList(ctx, r.Resources, p.AtName("resources"), &diags)
		verbs, _ := stringList(ctx, r.Verbs, p.AtName("verbs"), &diags)
		names, _ := stringList(ctx, r.ResourceNames, p.AtName("resource_names"), &diags)
		env.ExtraRules = append(env.ExtraRules, rbacv1.PolicyRule{APIGroups: groups, Resources: resources, Verbs: verbs, ResourceNames: names})
	}
	return env, diags
}

// manages reports whether env creates anything in the cluster.
func manages(env runnerenv.Env) bool {
	return env.CreateNamespace || env.CreateServiceAccount
}
