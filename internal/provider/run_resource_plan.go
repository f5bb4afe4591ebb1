package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// Plan time for containerdriver_run: validation without a cluster, and the plan's
// namespace, replacement and kept outputs.

// ValidateConfig checks, without a cluster, everything the domain can check: file paths
// against the shared directory, variable names, credentials_config, source credentials.
// Values not known yet are skipped.
func (r *runResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m runResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateRun(ctx, &m, &resp.Diagnostics)
}

func validateRun(ctx context.Context, m *runResourceModel, diags *diag.Diagnostics) {
	if m.ID.IsNull() || m.ID.IsUnknown() {
		m.ID = types.StringValue("plan")
	}
	spec, b := m.toSpec(ctx, "")
	diags.Append(b.diags...)
	if b.diags.HasError() {
		return
	}
	// Pod templates and images have attribute validators of their own, which know which
	// attribute (the runner's or the run's) is wrong.
	spec.Job.PodTemplates = nil
	spec.SidecarImage = ""
	// A run with a plan block is asked to plan: its files may not take the plan files' places.
	spec.PlanSupport = !m.Plan.IsNull()
	if b.isUnknown(root("job").Attr("image")) || spec.Job.Image == "" {
		spec.Job.Image = "placeholder"
	}
	// These fields have attribute validators of their own; reporting them twice helps nobody.
	b.unknown = append(b.unknown, root("job").Attr("image"), root("job").Attr("shared_directory"), root("job").Attr("namespace"),
		root("job").Attr("service_account"), root("source").Attr("url"))
	if err := spec.Validate(); err != nil {
		if !addSpecErrors(diags, err, b) {
			diags.AddError("Invalid Run Configuration", err.Error())
		}
	}
	if !m.Runner.IsUnknown() && !m.Job.IsUnknown() {
		var runner runnerConfigModel
		var job jobModel
		hasRunner := !m.Runner.IsNull()
		if hasRunner {
			diags.Append(m.Runner.As(ctx, &runner, basetypes.ObjectAsOptions{})...)
		}
		diags.Append(m.Job.As(ctx, &job, basetypes.ObjectAsOptions{})...)
		if !diags.HasError() {
			diags.Append(runSettingsProblems(hasRunner, runner, job)...)
		}
	}
}

// ModifyPlan checks the run against its runner (known only now when the runner is another
// resource), replaces the resource when the namespace changes, computes the namespace, and
// keeps the outputs when nothing that runs the container changes.
func (r *runResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if !req.State.Raw.IsNull() {
		// The run is in the persisted state: its create's claim, if still there, goes.
		var id types.String
		if d := req.State.GetAttribute(ctx, path.Root("id"), &id); !d.HasError() {
			r.confirmRecorded(ctx, id.ValueString(), req.Private, resp.Private)
		}
	}
	if req.Plan.Raw.IsNull() {
		r.previewDestroy(ctx, req, resp) // run_resource_preview.go
		return
	}
	var plan runResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	validateRun(ctx, &plan, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, known := plan.effectiveNamespace(ctx)
	if known {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("namespace"), types.StringValue(ns))...)
	} else {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("namespace"), types.StringUnknown())...)
	}
	if req.State.Raw.IsNull() {
		r.modifyPlanPreview(ctx, req, resp, &plan, nil)
		return
	}
	var state runResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if oldNS, _ := state.effectiveNamespace(ctx); !known || oldNS != ns {
		// Terraform only replaces for the paths among these whose value changed, and
		// rejects a path that exists in neither the plan nor the state.
		resp.RequiresReplace.Append(path.Root("job").AtName("namespace"), path.Root("runner"))
		if !plan.Runner.IsNull() || !state.Runner.IsNull() {
			resp.RequiresReplace.Append(path.Root("runner").AtName("namespace"))
		}
	}
	changed, diags := runInputsChanged(ctx, req.Plan, req.State)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if changed {
		// A replacement is planned again as a create, which previews it.
		if len(resp.RequiresReplace) == 0 {
			r.modifyPlanPreview(ctx, req, resp, &plan, &state)
		}
		return
	}
	// Only keep_job or timeouts changed: nothing runs, the outputs stay.
	for _, name := range runComputedAttributes {
		var v attr.Value
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(name), &v)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
	}
	r.unchangedPlan(ctx, req, resp, &plan, &state) // unless drift was found: then an update repairs it
}

// runInputsChanged reports whether an attribute that shapes the run differs between the
// plan and the state. A value of a type with semantic equality (credentials_json and
// component_descriptor, JSON) that means the same, reformatted, is no change: the plan
// records the new text, and nothing runs. (Terraform requires the plan to hold the
// configuration's text, so the framework's semantic equality cannot hide that diff.)
func runInputsChanged(ctx context.Context, plan tfsdk.Plan, state tfsdk.State) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	for _, name := range runInputAttributes {
		var p, s attr.Value
		diags.Append(plan.GetAttribute(ctx, path.Root(name), &p)...)
		diags.Append(state.GetAttribute(ctx, path.Root(name), &s)...)
		if diags.HasError() {
			return true, diags
		}
		if p.Equal(s) {
			continue
		}
		same, d := semanticallyEqual(ctx, s, p)
		diags.Append(d...)
		if !same || diags.HasError() {
			return true, diags
		}
	}
	return false, diags
}

// semanticallyEqual reports whether two known strings of a type with semantic equality
// (jsontypes.Normalized, timetypes.GoDuration) mean the same.
func semanticallyEqual(ctx context.Context, prior, planned attr.Value) (bool, diag.Diagnostics) {
	s, ok := prior.(basetypes.StringValuableWithSemanticEquals)
	if !ok || prior.IsNull() || prior.IsUnknown() || planned.IsNull() || planned.IsUnknown() {
		return false, nil
	}
	p, ok := planned.(basetypes.StringValuable)
	if !ok {
		return false, nil
	}
	return s.StringSemanticEquals(ctx, p)
}
