package provider

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

var (
	_ resource.Resource                   = (*runResource)(nil)
	_ resource.ResourceWithConfigure      = (*runResource)(nil)
	_ resource.ResourceWithValidateConfig = (*runResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*runResource)(nil)
)

// defaultRunTimeout bounds a run (create, update or destroy) unless timeouts say otherwise.
const defaultRunTimeout = 20 * time.Minute

// runResource is containerdriver_run.
type runResource struct {
	data *providerData
}

// NewRunResource returns the containerdriver_run resource.
func NewRunResource() resource.Resource { return &runResource{} }

func (r *runResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_run"
}

func (r *runResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = runSchema(ctx)
}

func (r *runResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if data := providerDataFrom(req, resp); data != nil {
		r.data = data
	}
}

func (r *runResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan runResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultRunTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(plan.readWriteOnly(ctx, req.Config)...) // the plan never holds them
	if resp.Diagnostics.HasError() {
		return
	}
	applyPlan, _, _, diags := r.applyPreview(ctx, &plan, false) // run_resource_preview.go
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.settlePlanAttributes()
	claim, diags := r.claimRunID(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	adopted := claim != nil && claim.Adopted
	res, runErr, diags := r.run(ctx, &plan, contract.ActionCreate, timeout, func(s *containerdriver.RunSpec) {
		s.Adopted = adopted
		if applyPlan != nil {
			applyPlan(s)
		}
	})
	resp.Diagnostics.Append(diags...)
	if applyPlan != nil && (res != nil || (runErr != nil && runErr.RunnerStarted())) {
		r.forgetPreview(ctx, &plan) // applied, or failed: never applied twice
	}
	if runErr != nil && runErr.RunnerStarted() {
		// Saved without outputs, the resource is tainted: the next apply destroys it with
		// the same id (so the runner can clean up what it created) and creates it again.
		setEmptyResult(&plan)
		resp.Diagnostics.Append(plan.setFailedResult(runErr)...)
		plan.clearWriteOnly()
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		r.claimReturned(ctx, claim, &plan, resp)
		return
	}
	if resp.Diagnostics.HasError() {
		if runErr != nil && runErr.Reason == containerdriver.ReasonAdoptedMismatch {
			claim.Abandon() // the run id is another create's: its claim stays for it
			return
		}
		// Nothing ran and nothing is recorded: nobody must adopt the id, and the
		// write-only secrets kept for this run's destroy would stay in the namespace forever.
		claim.Release(ctx)
		r.forgetWriteOnly(ctx, &plan)
		return
	}
	resp.Diagnostics.Append(plan.setResult(res)...)
	if resp.Diagnostics.HasError() {
		claim.Release(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	r.claimReturned(ctx, claim, &plan, resp)
}

// Read keeps the state as it is: refreshing runs no create or destroy, only the runner's
// plan when plan.detect_drift asks for it.
func (r *runResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state runResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.confirmRecorded(ctx, state.ID.ValueString(), req.Private, resp.Private)
	r.readDrift(ctx, &state, &resp.Diagnostics) // run_resource_preview.go
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *runResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state runResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = state.ID
	r.confirmRecorded(ctx, state.ID.ValueString(), req.Private, resp.Private)
	resp.Diagnostics.Append(plan.readWriteOnly(ctx, req.Config)...) // the plan never holds them
	changed, diags := runInputsChanged(ctx, req.Plan, req.State)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.settlePlanAttributes()
	if !changed && (state.Drift.IsNull() || state.Drift.IsUnknown()) {
		plan.copyResult(&state)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	// An input changed, or refresh found drift that this update repairs.
	applyPlan, _, skip, diags := r.applyPreview(ctx, &plan, true) // run_resource_preview.go
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if skip {
		// plan.skip_unchanged: the runner's preview has no changes; record the inputs.
		plan.copyResult(&state)
		r.forgetPreview(ctx, &plan)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultRunTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	restoreWriteOnly := r.writeOnlyRestorer(ctx, &plan)
	res, runErr, diags := r.run(ctx, &plan, contract.ActionCreate, timeout, applyPlan)
	resp.Diagnostics.Append(diags...)
	if applyPlan != nil && (res != nil || (runErr != nil && runErr.RunnerStarted())) {
		r.forgetPreview(ctx, &plan) // applied, or failed: never applied twice
	}
	if resp.Diagnostics.HasError() {
		// The prior state stays: its inputs are what the last successful run used, and
		// so are the write-only secrets kept for its destroy.
		restoreWriteOnly()
		return
	}
	resp.Diagnostics.Append(plan.setResult(res)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// Delete runs ACTION=destroy with what the last successful run used: the state's inputs,
// the commit it checked out and the image digest it ran.
func (r *runResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state runResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.confirmRecorded(ctx, state.ID.ValueString(), req.Private, nil)
	timeout, diags := state.Timeouts.Delete(ctx, defaultRunTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	pin := func(spec *containerdriver.RunSpec) {
		if spec.Source != nil && state.GitCommit.ValueString() != "" {
			spec.Source.Ref = state.GitCommit.ValueString()
		}
		if d := state.ImageDigest.ValueString(); d != "" {
			if pinned, ok := containerdriver.PinnedImage(spec.Job.Image, d); ok {
				tflog.Info(ctx, "destroy runs the image create ran", map[string]any{"image": pinned})
				spec.Job.Image = pinned
			}
		}
	}
	if state.ForceDestroy.ValueBool() {
		resp.Diagnostics.Append(r.forceCleanup(ctx, &state, timeout, "force_destroy is set")...)
		return
	}
	if forceDestroyRequested(state.ID.ValueString()) {
		// The configuration cannot reach a run whose destroy fails (Terraform destroys with
		// the prior state only): the user names it in the environment of one apply instead.
		tflog.Warn(ctx, "run named in "+envForceDestroyRuns+": its destroy container does not run", map[string]any{"run_id": state.ID.ValueString()})
		resp.Diagnostics.Append(r.forceCleanup(ctx, &state, timeout, "run "+state.ID.ValueString()+" is named in "+envForceDestroyRuns)...)
		return
	}
	_, runErr, diags := r.run(ctx, &state, contract.ActionDestroy, timeout, pin)
	if runErr == nil && !diags.HasError() {
		r.forgetRunPreviews(ctx, &state) // run_resource_preview.go
	}
	if runErr != nil && createFailedTheSameWay(&state, runErr) {
		// The instance never had a successful create, and its destroy fails exactly as its
		// create did (same container, exit code and error file): the runner cannot act on
		// these inputs at all, so it made nothing to destroy. Keeping the instance would
		// trap the user, whose fixed configuration can only apply after this destroy.
		resp.Diagnostics.AddWarning("Failed Create Dropped Without A Successful Destroy", fmt.Sprintf(
			"Run %s never completed a create, and its destroy failed with the same error as its create:\n\n%s\n"+
				"The provider concludes that the runner made nothing with these inputs and removes the failed instance from the state. "+
				"If the runner did make something, destroy it by hand; anything the run keeps in the cluster (its state Secrets, "+
				"labelled containerdriver.io/state-of) is left in namespace %s.", state.ID.ValueString(), runErr.Error(), runErr.Namespace))
		r.forgetWriteOnly(ctx, &state)
		return
	}
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		resp.Diagnostics.AddError("Run Stays In The State", destroyWayOut(&state))
	}
}

// createFailedTheSameWay reports whether the run being destroyed is a failed create (it
// has no outputs) whose failure runErr repeats, as runner_status.error_digest recorded it.
func createFailedTheSameWay(m *runResourceModel, runErr *containerdriver.RunError) bool {
	if !m.Outputs.IsNull() || m.RunnerStatus.IsNull() || m.RunnerStatus.IsUnknown() {
		return false
	}
	d, ok := m.RunnerStatus.Attributes()["error_digest"].(types.String)
	if !ok || d.ValueString() == "" {
		return false
	}
	return d.ValueString() == runErr.Digest()
}

// newRunID returns a random (version 4) UUID.
func newRunID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}
