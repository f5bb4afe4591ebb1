package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The runner's plan (issue 22): `plan` declares that the runner supports ACTION=plan; the
// preview runs during `terraform plan`, is kept in the cluster under plan_id, and the
// create or update that follows applies its artifact; refresh can look for drift.

const (
	onStaleFail   = "fail"
	onStaleReplan = "replan"
)

type planSettingsModel struct {
	Preview       types.Bool   `tfsdk:"preview"`
	OnStale       types.String `tfsdk:"on_stale"`
	SkipUnchanged types.Bool   `tfsdk:"skip_unchanged"`
	DetectDrift   types.Bool   `tfsdk:"detect_drift"`
}

var planSummaryAttrTypes = map[string]attr.Type{
	"add": types.Int64Type, "change": types.Int64Type, "destroy": types.Int64Type, "has_changes": types.BoolType,
}

var driftAttrTypes = map[string]attr.Type{
	"add": types.Int64Type, "change": types.Int64Type, "destroy": types.Int64Type, "has_changes": types.BoolType, "text": types.StringType,
}

func planAttributes() map[string]schema.Attribute {
	count := func(what string) schema.Int64Attribute {
		return schema.Int64Attribute{MarkdownDescription: "What the runner's plan would " + what + ", in its own units (resources, for OpenTofu).", Computed: true}
	}
	hasChanges := schema.BoolAttribute{MarkdownDescription: "Whether the runner's plan changes anything (outputs only included).", Computed: true}
	return map[string]schema.Attribute{
		"plan": schema.SingleNestedAttribute{
			MarkdownDescription: "Declares that the runner supports the plan action (`ACTION=plan`, see the [runner contract](../guides/contract.md#the-plan-action)). " +
				"Without it, the runner is never asked to plan and gets no `PLAN_*` variable. Changing it does not run the container.",
			Optional: true,
			Attributes: map[string]schema.Attribute{
				"preview": schema.BoolAttribute{
					MarkdownDescription: "Run the runner's plan during `terraform plan` for a planned create, in-place update or destroy, and show it: " +
						"its text as a warning of the plan, its summary as `plan_summary`. The preview of a create or update is kept in the run's namespace " +
						"(in Secrets: plans hold secrets) under `plan_id`, and the apply hands its artifact to the runner (`PLAN_APPLY=true`), which applies exactly it, " +
						"with the git commit and image digest the preview ran. A preview runs once per `plan_id`: the second plan of an apply finds it. " +
						"When an input is unknown until `terraform plan` ends, or the run's namespace or service account does not exist yet (a `containerdriver_runner` " +
						"of the same configuration creates it), there is no preview at plan (a warning says why) and `plan_id` is unknown; " +
						"the apply then previews once they are known and exist, shows that plan in its output, and applies it. Defaults to `true`.",
					Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				},
				"on_stale": schema.StringAttribute{
					MarkdownDescription: "What the apply does when the preview of its `plan_id` is gone (applied, deleted, or older than a day and removed by a later preview) " +
						"or not whole: `fail` (default) fails with an error asking to run `terraform plan` again; `replan` runs the create without an artifact, " +
						"so the runner plans and applies anew what nobody reviewed.",
					Optional: true, Computed: true, Default: stringdefault.StaticString(onStaleFail),
					Validators: []validator.String{stringvalidator.OneOf(onStaleFail, onStaleReplan)},
				},
				"skip_unchanged": schema.BoolAttribute{
					MarkdownDescription: "When the runner's preview of an update has `has_changes = false`, the apply records the new inputs without running the container; " +
						"the outputs stay. Defaults to `false`.",
					Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				},
				"detect_drift": schema.BoolAttribute{
					MarkdownDescription: "Refresh runs the runner's plan (a Job per run and refresh) with the inputs, git commit and image digest of the last successful run. " +
						"When it reports changes, `drift` holds its summary and text and the plan proposes an in-place update that runs the create again to converge; " +
						"when it reports none, refresh says so in a warning `Runner Plan: no changes` with the runner's plan text (shown by every command that refreshes: plan, apply, destroy). " +
						"`-refresh=false` skips it; `-refresh-only` records the drift without proposing anything. Defaults to `false`.",
					Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				},
			},
		},
		"plan_id": schema.StringAttribute{
			MarkdownDescription: "The identity of the runner's preview this apply carries out: a digest of everything that makes the run " +
				"(the Job's spec hash without secret values, and the previous run's id, commit, image and Job), a `-`, and a digest of the preview " +
				"(its artifact, text, summary, commit and image). Known in the plan when a preview ran; null without `plan.preview`.",
			Computed: true,
		},
		"plan_summary": schema.SingleNestedAttribute{
			MarkdownDescription: "The summary of the runner's preview (`PLAN_SUMMARY_FILE`), in the plan, in `terraform show` of a saved plan and in its JSON.",
			Computed:            true,
			Attributes: map[string]schema.Attribute{
				"add": count("add"), "change": count("change"), "destroy": count("destroy"), "has_changes": hasChanges,
			},
		},
		"drift": schema.SingleNestedAttribute{
			MarkdownDescription: "With `plan.detect_drift`: what the runner's plan found changed outside of the run at the last refresh (summary and text, masked " +
				"like every runner text); null when nothing drifted. The next apply runs the create again and clears it.",
			Computed: true,
			Attributes: map[string]schema.Attribute{
				"add": count("add"), "change": count("change"), "destroy": count("destroy"), "has_changes": hasChanges,
				"text": schema.StringAttribute{MarkdownDescription: "The runner's plan text.", Computed: true},
			},
		},
	}
}

// planSettings returns the plan block, nil when absent or unknown.
func (m *runResourceModel) planSettings(ctx context.Context) *planSettingsModel {
	if m.Plan.IsNull() || m.Plan.IsUnknown() {
		return nil
	}
	var p planSettingsModel
	if d := m.Plan.As(ctx, &p, basetypes.ObjectAsOptions{UnhandledUnknownAsEmpty: true}); d.HasError() {
		return nil
	}
	return &p
}

func (p *planSettingsModel) preview() bool {
	return p != nil && (p.Preview.IsNull() || p.Preview.IsUnknown() || p.Preview.ValueBool())
}

func summaryObject(s contract.PlanSummary) types.Object {
	return types.ObjectValueMust(planSummaryAttrTypes, map[string]attr.Value{
		"add": types.Int64Value(int64(s.Add)), "change": types.Int64Value(int64(s.Change)), "destroy": types.Int64Value(int64(s.Destroy)),
		"has_changes": types.BoolValue(s.HasChanges),
	})
}

func driftObject(p *containerdriver.PlanResult) types.Object {
	return types.ObjectValueMust(driftAttrTypes, map[string]attr.Value{
		"add": types.Int64Value(int64(p.Summary.Add)), "change": types.Int64Value(int64(p.Summary.Change)), "destroy": types.Int64Value(int64(p.Summary.Destroy)),
		"has_changes": types.BoolValue(p.Summary.HasChanges), "text": types.StringValue(p.Text),
	})
}

// planKey is what a preview is kept under: a digest of the spec hash, of the run's
// secrets (secretKey: the claim's HMAC of the whole spec, secret values included, under
// the namespace's key, so two resources that differ only in a secret never share a
// preview or a previewed run id) and of what the previous run was, computed the same way
// in every walk of one apply. The plan id is the key and the preview's digest (planID):
// when the preview is gone and the second plan of an apply previews again, the id differs
// and Terraform stops the apply, instead of applying an artifact nobody was shown.
func planKey(spec *containerdriver.RunSpec, prior *runResourceModel, secretKey string) (string, error) {
	s := *spec
	kind := "create"
	var priorParts []string
	if prior != nil {
		kind = "update"
		priorParts = []string{prior.ID.ValueString(), prior.GitCommit.ValueString(), prior.ImageDigest.ValueString(), prior.JobName.ValueString()}
	} else {
		s.RunID = "preview" // the create's id is derived from the plan id
	}
	h, err := containerdriver.SpecHash(&s, contract.ActionCreate)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(append([]string{kind, h, secretKey}, priorParts...))
	return contract.ShortHash(string(b), 24), nil
}

// secretKey is the claim digest of spec (containerdriver.Executor.CreateKey): an HMAC of
// everything that makes the run, secrets included, under the key kept in the namespace.
// When the provider may not read or make that key, the preview is keyed without the
// secrets, as it is logged.
func (r *runResource) secretKey(ctx context.Context, spec *containerdriver.RunSpec) string {
	exec, d := r.executor(ctx)
	if d.HasError() {
		return ""
	}
	k, err := exec.CreateKey(ctx, spec)
	if err != nil {
		tflog.Warn(ctx, "the preview's key leaves the secrets out: the claim key cannot be used", map[string]any{"error": err.Error()})
		return ""
	}
	return k
}

func planID(key string, p *containerdriver.PlanResult) string { return key + "-" + p.Digest() }

// splitPlanID returns the key and the digest of a plan id.
func splitPlanID(id string) (key, digest string) {
	key, digest, _ = strings.Cut(id, "-")
	return key, digest
}

// previewRunID is the run id of a previewed create, derived from its plan key so that the
// preview and the create run under the same id (a runner may key its backend state by
// it, and a plan artifact may record that).
func previewRunID(id string) string {
	h := contract.ShortHash("run-id:"+id, 32)
	return fmt.Sprintf("%s-%s-4%s-8%s-%s", h[0:8], h[8:12], h[13:16], h[17:20], h[20:32])
}

// planText renders a preview for a warning: each line indented with a space, which the
// CLIs neither re-wrap nor colour-parse.
func planText(p *containerdriver.PlanResult) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(p.Text, "\n"), "\n") {
		b.WriteString(" " + l + "\n")
	}
	if p.Truncated {
		fmt.Fprintf(&b, " [the runner's plan was cut at %d bytes]\n", contract.MaxPlanTextBytes)
	}
	return b.String()
}

func summaryLine(s contract.PlanSummary) string {
	if !s.HasChanges {
		return "no changes"
	}
	return fmt.Sprintf("%d to add, %d to change, %d to destroy", s.Add, s.Change, s.Destroy)
}

// setPlanAttributes sets plan_id and plan_summary in the plan.
func setPlanAttributes(ctx context.Context, resp *resource.ModifyPlanResponse, id, summary attr.Value) {
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("plan_id"), id)...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("plan_summary"), summary)...)
}

// modifyPlanPreview previews a planned create (prior nil) or update. Without the plan
// block, plan_id, plan_summary and drift are null, as they were before they existed.
func (r *runResource) modifyPlanPreview(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan, prior *runResourceModel) {
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drift"), types.ObjectNull(driftAttrTypes))...)
	settings := plan.planSettings(ctx)
	if !settings.preview() || r.data == nil {
		setPlanAttributes(ctx, resp, types.StringNull(), types.ObjectNull(planSummaryAttrTypes))
		return
	}
	m := *plan
	if prior != nil {
		m.ID = prior.ID
	}
	resp.Diagnostics.Append(m.readWriteOnly(ctx, req.Config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if prior == nil {
		m.ID = types.StringValue("preview")
	}
	spec, unknown, d := r.runSpec(ctx, &m)
	if d.HasError() {
		return // validateRun reported it
	}
	if len(unknown) > 0 || plan.Plan.IsUnknown() {
		setPlanAttributes(ctx, resp, types.StringUnknown(), types.ObjectUnknown(planSummaryAttrTypes))
		resp.Diagnostics.AddWarning("No Runner Plan Preview", fmt.Sprintf(
			"The runner's plan is not previewed: %s unknown until apply. The apply previews once they are known, shows that plan in its output and applies it: nobody reviews it before.", joinPaths(unknown)))
		return
	}
	if missing := r.missingTarget(ctx, spec); missing != "" {
		setPlanAttributes(ctx, resp, types.StringUnknown(), types.ObjectUnknown(planSummaryAttrTypes))
		resp.Diagnostics.AddWarning("No Runner Plan Preview", fmt.Sprintf(
			"The runner's plan is not previewed: %s does not exist yet (a resource of this configuration, such as a containerdriver_runner with create_namespace, may create it during the apply). The apply previews once it exists, shows that plan in its output and applies it: nobody reviews it before.", missing))
		return
	}
	key, err := planKey(spec, prior, r.secretKey(ctx, spec))
	if err != nil {
		resp.Diagnostics.AddError("Runner Plan Preview Failed", err.Error())
		return
	}
	if prior == nil {
		spec.RunID = previewRunID(key)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("id"), types.StringValue(spec.RunID))...)
	}
	p, ran, diags := r.preview(ctx, &m, spec, key, false)
	resp.Diagnostics.Append(diags...)
	if p == nil {
		return
	}
	id := planID(key, p)
	setPlanAttributes(ctx, resp, types.StringValue(id), summaryObject(p.Summary))
	what := "create"
	if prior != nil {
		what = "update"
	}
	note := ""
	if ran {
		// It ran now. When this is the second plan of an apply, the preview the plan showed
		// was gone: Terraform then stops the apply, as plan_id differs.
		note = "\n(If Terraform now reports that plan_id changed during apply, the preview shown by the plan was deleted before the apply: nothing was applied; run terraform plan again.)"
	}
	resp.Diagnostics.AddWarning("Runner Plan: "+summaryLine(p.Summary), fmt.Sprintf(
		"The runner's plan for this %s (plan id %s, image %s%s):\n\n%s%s", what, id, p.ImageID, commitNote(p.GitCommit), planText(p), note))
	if prior != nil && !p.Summary.HasChanges && settings.SkipUnchanged.ValueBool() {
		// The apply records the new inputs only: the outputs stay.
		for _, name := range runComputedAttributes {
			var v attr.Value
			resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(name), &v)...)
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
		}
	}
}

// missingTarget is what the preview's Job needs and does not exist yet ("" when the
// cluster cannot be asked: the preview then reports the error itself).
func (r *runResource) missingTarget(ctx context.Context, spec *containerdriver.RunSpec) string {
	exec, d := r.executor(ctx)
	if d.HasError() {
		return ""
	}
	return exec.MissingTarget(ctx, spec)
}

func commitNote(c string) string {
	if c == "" {
		return ""
	}
	return ", commit " + c
}

// preview returns the preview kept under id, or runs the plan Job that makes it. With
// destroy it keeps nothing. ran tells that a Job ran.
func (r *runResource) preview(ctx context.Context, m *runResourceModel, spec *containerdriver.RunSpec, id string, destroy bool) (p *containerdriver.PlanResult, ran bool, diags diag.Diagnostics) {
	exec, d := r.executor(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return nil, false, diags
	}
	if !destroy {
		kept, err := exec.LoadPreview(ctx, spec.Namespace(), id, false)
		if err != nil {
			tflog.Warn(ctx, "a kept preview could not be read; planning again", map[string]any{"plan_id": id, "error": err.Error()})
		}
		if kept != nil {
			tflog.Info(ctx, "runner plan preview found", map[string]any{"plan_id": id})
			return &kept.PlanResult, false, diags
		}
	}
	timeout, d := m.Timeouts.Create(ctx, defaultRunTimeout)
	diags.Append(d...)
	if diags.HasError() {
		return nil, false, diags
	}
	keep := id
	if destroy {
		keep = ""
	}
	start := time.Now()
	res, _, d := r.run(ctx, m, contract.ActionPlan, timeout, func(s *containerdriver.RunSpec) {
		*s = *spec
		s.Plan = &containerdriver.PlanSpec{ID: keep, Destroy: destroy}
	})
	diags.Append(d...)
	if res == nil || res.Plan == nil {
		return nil, false, diags
	}
	tflog.Info(ctx, "runner plan preview ran", map[string]any{"plan_id": id, "seconds": time.Since(start).Seconds()})
	return res.Plan, true, diags
}

// pinned returns spec pinned to a commit and an image digest (destroy, drift and the
// apply of a preview run what ran before).
func pinned(spec *containerdriver.RunSpec, commit, imageID string) {
	if spec.Source != nil && commit != "" {
		spec.Source.Ref = commit
	}
	if p, ok := containerdriver.PinnedImage(spec.Job.Image, imageID); ok {
		spec.Job.Image = p
	}
}

// previewDestroy shows the runner's plan for a planned destroy.
func (r *runResource) previewDestroy(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || r.data == nil {
		return
	}
	var state runResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !state.planSettings(ctx).preview() || state.ForceDestroy.ValueBool() || state.ID.ValueString() == "" {
		return
	}
	spec, unknown, d := r.runSpec(ctx, &state)
	if d.HasError() || len(unknown) > 0 {
		return
	}
	pinned(spec, state.GitCommit.ValueString(), state.ImageDigest.ValueString())
	p, _, diags := r.preview(ctx, &state, spec, "", true)
	for _, d := range diags {
		// A destroy preview that fails does not stop the destroy: it is shown only.
		resp.Diagnostics.AddWarning("Runner Destroy Plan Failed: "+d.Summary(), d.Detail())
	}
	if p != nil {
		resp.Diagnostics.AddWarning("Runner Destroy Plan: "+summaryLine(p.Summary), fmt.Sprintf(
			"The runner's plan for this destroy (run %s):\n\n%s", state.ID.ValueString(), planText(p)))
	}
}

// unchangedPlan handles a plan whose inputs did not change: plan_id and plan_summary stay;
// a drift found by refresh is cleared by an update that runs the create again.
func (r *runResource) unchangedPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse, plan, state *runResourceModel) {
	if state.Drift.IsNull() || state.Drift.IsUnknown() {
		for _, name := range []string{"plan_id", "plan_summary", "drift"} {
			var v attr.Value
			resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(name), &v)...)
			resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
		}
		return
	}
	// The drift repair runs the container: what it returns is unknown.
	for _, name := range runComputedAttributes {
		var v attr.Value
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(name), &v)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), unknownOf(v))...)
	}
	r.modifyPlanPreview(ctx, req, resp, plan, state)
}

func unknownOf(v attr.Value) attr.Value {
	switch o := v.(type) {
	case types.String:
		return types.StringUnknown()
	case types.Dynamic:
		return types.DynamicUnknown()
	case types.Int64:
		return types.Int64Unknown()
	case types.Object:
		return types.ObjectUnknown(o.AttributeTypes(context.Background()))
	}
	return v
}

// applyPreview prepares a create or update of a run whose plan carries a plan_id: the
// kept preview's artifact, commit and image. skip is true when the update need not run
// (skip_unchanged and a preview without changes). A missing preview is handled as
// plan.on_stale says.
func (r *runResource) applyPreview(ctx context.Context, m *runResourceModel, update bool) (adjust func(*containerdriver.RunSpec), preview *containerdriver.Preview, skip bool, diags diag.Diagnostics) {
	id := m.PlanID.ValueString()
	settings := m.planSettings(ctx)
	if m.PlanID.IsNull() || m.PlanID.IsUnknown() || id == "" || settings == nil || r.data == nil {
		return nil, nil, false, diags
	}
	if update && settings.SkipUnchanged.ValueBool() && plannedNoChanges(ctx, m) {
		// The plan showed that the runner has nothing to do and promised the outputs as they
		// are: nothing to apply, so the artifact is not needed (and on_stale not asked).
		return nil, nil, true, diags
	}
	exec, d := r.executor(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return nil, nil, false, diags
	}
	ns, _ := m.effectiveNamespace(ctx)
	key, digest := splitPlanID(id)
	kept, err := exec.LoadPreview(ctx, ns, key, true)
	if kept != nil && kept.Digest() != digest {
		kept, err = nil, fmt.Errorf("the preview kept for plan %s is another one (%s) than the plan shows", id, kept.Digest())
	}
	if kept == nil {
		why := fmt.Sprintf("the preview of plan %s is not in namespace %s (it was applied already, deleted, or removed as older than a day)", id, ns)
		if err != nil {
			why = err.Error()
		}
		// The next plan previews anew instead of finding what is left of this one.
		if err := exec.DeletePreview(context.WithoutCancel(ctx), ns, key); err != nil {
			tflog.Warn(ctx, "the stale preview was not deleted", map[string]any{"plan_id": id, "error": err.Error()})
		}
		if settings.OnStale.ValueString() == onStaleReplan {
			diags.AddWarning("Runner Plan Stale: Planning Again", fmt.Sprintf(
				"%s. plan.on_stale = \"replan\": the runner plans and applies anew, without the artifact that was reviewed.", why))
			return nil, nil, false, diags
		}
		diags.AddAttributeError(path.Root("plan_id"), "Runner Plan Stale", fmt.Sprintf(
			"%s.\n\nNothing was run. Run terraform plan again to preview what the runner would do now, and apply that plan "+
				"(or set plan.on_stale = \"replan\" to let the apply plan anew).", why))
		return nil, nil, false, diags
	}
	if update && settings.SkipUnchanged.ValueBool() && !kept.Summary.HasChanges {
		return nil, kept, true, diags
	}
	return func(s *containerdriver.RunSpec) {
		pinned(s, kept.GitCommit, kept.ImageID)
		s.PlanApply = containerdriver.NewPlanApply(key, kept.Artifact)
	}, kept, false, diags
}

// plannedNoChanges reports whether the plan's plan_summary (the preview the plan showed)
// says has_changes = false.
func plannedNoChanges(ctx context.Context, m *runResourceModel) bool {
	if m.PlanSummary.IsNull() || m.PlanSummary.IsUnknown() {
		return false
	}
	var s struct {
		Add        types.Int64 `tfsdk:"add"`
		Change     types.Int64 `tfsdk:"change"`
		Destroy    types.Int64 `tfsdk:"destroy"`
		HasChanges types.Bool  `tfsdk:"has_changes"`
	}
	if d := m.PlanSummary.As(ctx, &s, basetypes.ObjectAsOptions{}); d.HasError() {
		return false
	}
	return !s.HasChanges.IsUnknown() && !s.HasChanges.IsNull() && !s.HasChanges.ValueBool()
}

// forgetPreview deletes the kept preview once applied (or once its apply failed: an
// artifact that failed is not applied again; the next plan makes a new one).
func (r *runResource) forgetPreview(ctx context.Context, m *runResourceModel) {
	if r.data == nil || m.PlanID.ValueString() == "" {
		return
	}
	exec, d := r.executor(ctx)
	if d.HasError() {
		return
	}
	ns, _ := m.effectiveNamespace(ctx)
	key, _ := splitPlanID(m.PlanID.ValueString())
	if err := exec.DeletePreview(context.WithoutCancel(ctx), ns, key); err != nil {
		tflog.Warn(ctx, "the applied preview was not deleted", map[string]any{"plan_id": m.PlanID.ValueString(), "error": err.Error()})
	}
}

// readDrift runs the runner's plan with what the last successful run used, when
// plan.detect_drift is set, and records what it reports in drift.
func (r *runResource) readDrift(ctx context.Context, state *runResourceModel, diags *diag.Diagnostics) {
	s := state.planSettings(ctx)
	if s == nil || !s.DetectDrift.ValueBool() || r.data == nil || state.Outputs.IsNull() || state.ID.ValueString() == "" {
		return
	}
	spec, unknown, d := r.runSpec(ctx, state)
	if d.HasError() || len(unknown) > 0 {
		return
	}
	pinned(spec, state.GitCommit.ValueString(), state.ImageDigest.ValueString())
	m := *state
	timeout, d := m.Timeouts.Create(ctx, defaultRunTimeout)
	if d.HasError() {
		return
	}
	res, _, d := r.run(ctx, &m, contract.ActionPlan, timeout, func(s *containerdriver.RunSpec) {
		*s = *spec
		s.Plan = &containerdriver.PlanSpec{}
	})
	if d.HasError() || res == nil || res.Plan == nil {
		for _, e := range d {
			diags.AddWarning("Drift Check Failed: "+e.Summary(), e.Detail()+"\n\nThe drift attribute keeps its last value.")
		}
		return
	}
	if !res.Plan.Summary.HasChanges {
		state.Drift = types.ObjectNull(driftAttrTypes)
		// Said where the plan is read, so that "No changes" is the runner's verdict too.
		diags.AddWarning("Runner Plan: no changes", fmt.Sprintf(
			"The runner's plan with the inputs, commit and image of the last successful run (run %s) reports no changes: nothing was changed outside of it.\n\n%s",
			state.ID.ValueString(), planText(res.Plan)))
		return
	}
	state.Drift = driftObject(res.Plan)
	diags.AddWarning("Drift Detected: "+summaryLine(res.Plan.Summary), fmt.Sprintf(
		"The runner's plan with the inputs, commit and image of the last successful run (run %s) reports changes made outside of it; "+
			"the next apply runs the create again to converge:\n\n%s", state.ID.ValueString(), planText(res.Plan)))
}

// settlePlanAttributes turns what the plan left unknown (no preview ran) into null.
func (m *runResourceModel) settlePlanAttributes() {
	if m.PlanID.IsUnknown() {
		m.PlanID = types.StringNull()
	}
	if m.PlanSummary.IsUnknown() {
		m.PlanSummary = types.ObjectNull(planSummaryAttrTypes)
	}
	m.Drift = types.ObjectNull(driftAttrTypes)
}

// forgetRunPreviews deletes what previews of a destroyed run are left.
func (r *runResource) forgetRunPreviews(ctx context.Context, m *runResourceModel) {
	if r.data == nil || m.ID.ValueString() == "" {
		return
	}
	exec, d := r.executor(ctx)
	if d.HasError() {
		return
	}
	ns, _ := m.effectiveNamespace(ctx)
	if err := exec.DeleteRunPreviews(context.WithoutCancel(ctx), ns, m.ID.ValueString()); err != nil {
		tflog.Warn(ctx, "the previews of the destroyed run were not deleted", map[string]any{"error": err.Error()})
	}
}
