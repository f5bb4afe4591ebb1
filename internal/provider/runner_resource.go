package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/client-go/kubernetes"
)

var (
	_ resource.Resource                   = (*runnerResource)(nil)
	_ resource.ResourceWithConfigure      = (*runnerResource)(nil)
	_ resource.ResourceWithValidateConfig = (*runnerResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*runnerResource)(nil)
)

// defaultRunnerTimeout bounds creating or deleting a runner's objects; deleting a
// namespace waits for everything in it to go.
const defaultRunnerTimeout = 5 * time.Minute

// runnerResource is containerdriver_runner.
type runnerResource struct {
	data *providerData
}

// NewRunnerResource returns the containerdriver_runner resource.
func NewRunnerResource() resource.Resource { return &runnerResource{} }

func (r *runnerResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_runner"
}

func (r *runnerResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = runnerSchema(ctx)
}

func (r *runnerResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := providerDataFrom(req, resp); data != nil {
		r.data = data
	}
}

func (r *runnerResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m runnerResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.AllowStatePath.ValueBool() && !m.CreateServiceAccount.IsUnknown() && !m.CreateServiceAccount.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("allow_state_path"), "State Rules Without A Managed Role",
			"allow_state_path adds rules to the Role this resource creates, so it needs create_service_account = true. "+
				"When the service account is managed elsewhere, grant get, list, update and delete on secrets there.")
	}
	if !m.ExtraRules.IsNull() && !m.CreateServiceAccount.IsUnknown() && !m.CreateServiceAccount.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("extra_rules"), "Extra Rules Without A Managed Role",
			"extra_rules are added to the Role this resource creates, so they need create_service_account = true. "+
				"When the service account is managed elsewhere, grant the permissions there.")
	}
}

// ModifyPlan computes config at plan time, so that runs referring to it plan with known
// values instead of "known after apply".
func (r *runnerResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan runnerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, diags := plan.configValue()
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("config"), cfg)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), plan.idValue())...)
}

func (r *runnerResource) client() (kubernetes.Interface, diag.Diagnostics) {
	var diags diag.Diagnostics
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The containerdriver provider was not configured. This is a bug in the provider.")
		return nil, diags
	}
	return r.data.kube.Client()
}

func (r *runnerResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan runnerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, diags := plan.env(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if manages(env) {
		timeout, diags := plan.Timeouts.Create(ctx, defaultRunnerTimeout)
		resp.Diagnostics.Append(diags...)
		c, diags := r.client()
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := env.Ensure(ctx, c); err != nil {
			resp.Diagnostics.Append(ensureError(env, err))
			return
		}
		tflog.Info(ctx, "runner environment ready", map[string]any{"namespace": env.Namespace, "service_account": env.ServiceAccount})
	}
	r.setComputed(&plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Read notices managed objects deleted behind Terraform's back and plans their creation.
func (r *runnerResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state runnerResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, diags := state.env(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if manages(env) && r.data != nil && r.data.kube.Known() {
		c, diags := r.client()
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		missing, err := env.Missing(ctx, c)
		if err != nil {
			resp.Diagnostics.AddError("Runner Environment Read Error", fmt.Sprintf(
				"Could not check the namespace and service account objects of runner %s/%s: %v", env.Namespace, env.ServiceAccount, err))
			return
		}
		if len(missing) > 0 {
			resp.Diagnostics.AddWarning("Runner Objects Deleted Outside Terraform", fmt.Sprintf(
				"These objects managed by containerdriver_runner %s/%s no longer exist: %s. They will be created again.",
				env.Namespace, env.ServiceAccount, strings.Join(missing, ", ")))
			resp.State.RemoveResource(ctx)
			return
		}
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *runnerResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state runnerResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	newEnv, diags := plan.env(ctx)
	resp.Diagnostics.Append(diags...)
	oldEnv, diags := state.env(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if manages(newEnv) || manages(oldEnv) {
		timeout, diags := plan.Timeouts.Update(ctx, defaultRunnerTimeout)
		resp.Diagnostics.Append(diags...)
		c, diags := r.client()
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := updateRunnerEnv(ctx, c, oldEnv, newEnv); err != nil {
			resp.Diagnostics.Append(ensureError(newEnv, err))
			return
		}
	}
	r.setComputed(&plan, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// updateRunnerEnv moves the cluster from old to new: objects no longer to be managed are
// released (kept), a renamed service account's objects are deleted, then new is ensured.
func updateRunnerEnv(ctx context.Context, c kubernetes.Interface, old, new runnerenv.Env) error {
	releaseNS := old.CreateNamespace && !new.CreateNamespace
	releaseSA := old.CreateServiceAccount && !new.CreateServiceAccount
	if releaseNS || releaseSA {
		if err := old.Release(ctx, c, releaseNS, releaseSA); err != nil {
			return err
		}
	}
	if old.CreateServiceAccount && new.CreateServiceAccount && old.ServiceAccount != new.ServiceAccount {
		if err := old.DeleteServiceAccount(ctx, c); err != nil {
			return err
		}
	}
	return new.Ensure(ctx, c)
}

func (r *runnerResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state runnerResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, diags := state.env(ctx)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() || !manages(env) {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultRunnerTimeout)
	resp.Diagnostics.Append(diags...)
	c, diags := r.client()
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := env.Delete(ctx, c); err != nil {
		resp.Diagnostics.AddError("Runner Environment Delete Failed", fmt.Sprintf(
			"Could not delete what containerdriver_runner created in namespace %s (service account %s): %v\n\n"+
				"A namespace is only gone once everything in it is; check for objects with finalizers (kubectl get all -n %s).",
			env.Namespace, env.ServiceAccount, err, env.Namespace))
	}
}

func (r *runnerResource) setComputed(m *runnerResourceModel, diags *diag.Diagnostics) {
	cfg, d := m.configValue()
	diags.Append(d...)
	m.Config = cfg
	m.ID = m.idValue()
}

func ensureError(env runnerenv.Env, err error) diag.Diagnostic {
	var nm *runnerenv.NotManagedError
	if errors.As(err, &nm) {
		attr := "create_service_account"
		if nm.Kind == "namespace" {
			attr = "create_namespace"
		}
		return diag.NewAttributeErrorDiagnostic(path.Root(attr), "Object Not Created By Containerdriver", fmt.Sprintf(
			"%s. containerdriver_runner only manages objects it created, so it neither takes this one over nor would delete it. "+
				"Set %s = false to use the existing object as it is, or delete it and apply again.", capitalize(err.Error()), attr))
	}
	return diag.NewErrorDiagnostic("Runner Environment Setup Failed", fmt.Sprintf(
		"Could not set up namespace %s and service account %s for runners: %v\n\n"+
			"The objects are server-side applied: the provider's credentials need get, create, patch and delete on namespaces "+
			"(create_namespace, also list and watch), and on service accounts, Roles and RoleBindings (create_service_account); "+
			"a Role also needs every permission it grants (see the Requirements guide).", env.Namespace, env.ServiceAccount, err))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
