package provider

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
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
	if b.isUnknown("job.image") || spec.Job.Image == "" {
		spec.Job.Image = "placeholder"
	}
	// These fields have attribute validators of their own; reporting them twice helps nobody.
	b.unknown = append(b.unknown, "job.image", "job.shared_directory", "job.namespace", "job.service_account", "source.url")
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
	if req.Plan.Raw.IsNull() {
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
	if resp.Diagnostics.HasError() || changed {
		return
	}
	// Only keep_job or timeouts changed: nothing runs, the outputs stay.
	for _, name := range runComputedAttributes {
		var v attr.Value
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(name), &v)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(name), v)...)
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
	claim, diags := r.claimRunID(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Released once the run is recorded (or nothing ran): until then, a retried apply
	// after a crash adopts the run id instead of starting a second copy.
	defer claim.Release(ctx)
	res, runErr, diags := r.run(ctx, &plan, contract.ActionCreate, timeout, nil)
	resp.Diagnostics.Append(diags...)
	if runErr != nil && runErr.RunnerStarted() {
		// Saved without outputs, the resource is tainted: the next apply destroys it with
		// the same id (so the runner can clean up what it created) and creates it again.
		setEmptyResult(&plan)
		resp.Diagnostics.Append(plan.setFailedResult(runErr)...)
		plan.clearWriteOnly()
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	if resp.Diagnostics.HasError() {
		// Nothing ran and nothing is recorded: the write-only secrets kept for this run's
		// destroy would stay in the namespace forever.
		r.forgetWriteOnly(ctx, &plan)
		return
	}
	resp.Diagnostics.Append(plan.setResult(res)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// forgetWriteOnly deletes the write-only secrets kept for a run nothing records: a create
// that failed before its runner started, or a failed create dropped from the state.
func (r *runResource) forgetWriteOnly(ctx context.Context, m *runResourceModel) {
	if r.data == nil {
		return
	}
	spec, b := m.toSpec(ctx, r.data.sidecarImage)
	if b.diags.HasError() {
		return
	}
	client, d := r.data.kube.Client()
	if d.HasError() {
		return
	}
	if err := (&containerdriver.Executor{Client: client}).ForgetWriteOnly(context.WithoutCancel(ctx), spec); err != nil {
		tflog.Warn(ctx, "the write-only secrets of an unrecorded run were not deleted", map[string]any{"error": err.Error()})
	}
}

// claimRunID gives a create its run id: a new one, or that of an identical create whose
// caller died before recording it (see containerdriver.ClaimCreate).
func (r *runResource) claimRunID(ctx context.Context, plan *runResourceModel) (*containerdriver.CreateClaim, diag.Diagnostics) {
	var diags diag.Diagnostics
	plan.ID = types.StringValue(newRunID())
	if r.data == nil {
		return nil, diags
	}
	spec, b := plan.toSpec(ctx, r.data.sidecarImage)
	if b.diags.HasError() || len(b.unknown) > 0 {
		return nil, diags // r.run reports these
	}
	client, d := r.data.kube.Client()
	if d.HasError() {
		return nil, diags // and this
	}
	exec := &containerdriver.Executor{Client: client, Observer: tflogObserver{ctx: ctx}}
	claim, err := exec.ClaimCreate(ctx, spec, newRunID)
	switch {
	case errors.Is(err, containerdriver.ErrClaimsUnavailable):
		diags.AddWarning("Run Not Protected Against Crashes", fmt.Sprintf(
			"The provider's credentials may not use Leases in namespace %s (%v), so this create cannot be resumed if Terraform is killed "+
				"while it runs: a retry would start the runner again under a new run id. Grant get, list, create, update and delete on "+
				"leases (API group coordination.k8s.io) in that namespace.", spec.Namespace(), err))
		return nil, diags
	case err != nil:
		diags.AddError("Run Identity Not Claimed", fmt.Sprintf(
			"Claiming the run's identity in namespace %s failed: %v\n\nNothing was started. Check that the namespace exists and that "+
				"the provider's credentials may use leases (coordination.k8s.io) there, then apply again.", spec.Namespace(), err))
		return nil, diags
	}
	for _, o := range claim.Orphans {
		diags.AddWarning("Interrupted Create Found", o)
	}
	if claim.Adopted {
		diags.AddWarning("Interrupted Create Resumed", fmt.Sprintf(
			"An earlier create with this same configuration was interrupted (Terraform or the machine running it stopped) before it was recorded. "+
				"This create resumed it under its run id %s instead of running the container a second time.", claim.RunID))
	}
	plan.ID = types.StringValue(claim.RunID)
	return claim, diags
}

// Read keeps the state as it is: refreshing must not run the container.
func (r *runResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state runResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
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
	resp.Diagnostics.Append(plan.readWriteOnly(ctx, req.Config)...) // the plan never holds them
	changed, diags := runInputsChanged(ctx, req.Plan, req.State)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !changed {
		plan.copyResult(&state)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultRunTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	restoreWriteOnly := r.writeOnlyRestorer(ctx, &plan)
	res, _, diags := r.run(ctx, &plan, contract.ActionCreate, timeout, nil)
	resp.Diagnostics.Append(diags...)
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
		resp.Diagnostics.Append(r.forceCleanup(ctx, &state, timeout)...)
		return
	}
	_, runErr, diags := r.run(ctx, &state, contract.ActionDestroy, timeout, pin)
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

// forceCleanup removes what the run keeps in the cluster without running the destroy
// container (force_destroy).
func (r *runResource) forceCleanup(ctx context.Context, m *runResourceModel, timeout time.Duration) diag.Diagnostics {
	var diags diag.Diagnostics
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The containerdriver provider was not configured. This is a bug in the provider.")
		return diags
	}
	spec, b := m.toSpec(ctx, r.data.sidecarImage)
	diags.Append(b.diags...)
	if diags.HasError() {
		return diags
	}
	client, d := r.data.kube.Client()
	diags.Append(d...)
	if diags.HasError() {
		return diags
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tflog.Warn(ctx, "force_destroy: the destroy container does not run; removing the run's Jobs, objects and state", map[string]any{"run_id": spec.RunID, "namespace": spec.Namespace()})
	if err := (&containerdriver.Executor{Client: client}).ForceCleanup(ctx, spec); err != nil {
		diags.AddError("Force Cleanup Failed", fmt.Sprintf(
			"Removing the Jobs, objects and state of run %s in namespace %s failed: %v\n\n"+
				"Check that the provider's credentials may list and delete Jobs, pods, Secrets and ConfigMaps there.", spec.RunID, spec.Namespace(), err))
	} else {
		diags.AddWarning("Destroy Run Skipped", forceDestroyDetail(spec))
	}
	return diags
}

// run converts the model, runs it and turns failures into diagnostics. The RunError, if
// any, is returned as well so Create can tell where the run stopped.
func (r *runResource) run(ctx context.Context, m *runResourceModel, action string, timeout time.Duration,
	adjust func(*containerdriver.RunSpec),
) (*containerdriver.Result, *containerdriver.RunError, diag.Diagnostics) {
	var diags diag.Diagnostics
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The containerdriver provider was not configured. This is a bug in the provider.")
		return nil, nil, diags
	}
	spec, b := m.toSpec(ctx, r.data.sidecarImage)
	diags.Append(b.diags...)
	if diags.HasError() {
		return nil, nil, diags
	}
	if len(b.unknown) > 0 {
		diags.AddError("Unknown Run Configuration", fmt.Sprintf(
			"These values are still unknown when the run starts: %s. This is a bug in the provider.", strings.Join(b.unknown, ", ")))
		return nil, nil, diags
	}
	if adjust != nil {
		adjust(spec)
	}
	if err := spec.Validate(); err != nil {
		if !addSpecErrors(&diags, err, nil) {
			diags.AddError("Invalid Run Configuration", err.Error())
		}
		return nil, nil, diags
	}
	client, d := r.data.kube.Client()
	diags.Append(d...)
	if diags.HasError() {
		return nil, nil, diags
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = tflog.SetField(ctx, "run_id", spec.RunID)
	ctx = tflog.SetField(ctx, "action", action)
	ctx = tflog.SetField(ctx, "namespace", spec.Namespace())
	tflog.Info(ctx, "starting container run", map[string]any{"image": spec.Job.Image})
	ctx = withAPIWarnings(ctx)
	exec := &containerdriver.Executor{Client: client, Observer: tflogObserver{ctx: ctx}}
	res, err := exec.Run(ctx, spec, action)
	diags.Append(podSecurityWarnings(ctx, spec.Namespace())...)
	if err == nil {
		tflog.Info(ctx, "container run succeeded", map[string]any{"job": res.JobName, "exit_code": res.ExitCode})
		return res, nil, diags
	}
	var runErr *containerdriver.RunError
	switch {
	case errors.As(err, &runErr) && runErr.Reason == containerdriver.ReasonTimeout:
		diags.AddError("Container Run Timed Out", runFailureDetail(runErr, action)+
			fmt.Sprintf("\nThe run did not finish within %s. ", timeout)+timeoutHint(action, timeout))
	case errors.As(err, &runErr) && runErr.Reason == containerdriver.ReasonInterrupted:
		diags.AddError("Container Run Interrupted", runFailureDetail(runErr, action))
	case errors.As(err, &runErr):
		addRunFailure(&diags, runErr, action)
	case addSpecErrors(&diags, err, nil):
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Container Run Timed Out", runTimeoutDetail(action, spec.Namespace(), timeout, err))
	default:
		diags.AddError("Container Run Error", fmt.Sprintf(
			"The %s run in namespace %s could not be carried out: %v\n\n"+
				"Check that the provider's credentials may create Jobs, Secrets and ConfigMaps and read pods, their logs and ConfigMaps "+
				"in that namespace, and that the namespace exists.", action, spec.Namespace(), err))
	}
	return nil, runErr, diags
}

// setResult stores a run's result in the model.
func (m *runResourceModel) setResult(res *containerdriver.Result) diag.Diagnostics {
	var diags diag.Diagnostics
	outputs := map[string]any{}
	for k, v := range res.Outputs {
		outputs[k] = v
	}
	secrets := map[string]any{}
	for k, v := range res.SecretOutputs {
		secrets[k] = v
	}
	manifests := res.Manifests
	if manifests == nil {
		manifests = []any{}
	}
	var err error
	if m.Outputs, err = goToDynamic(outputs); err != nil {
		diags.AddAttributeError(path.Root("outputs"), "Invalid Outputs", "The outputs cannot be represented: "+err.Error())
	}
	if m.SecretOutputs, err = goToDynamic(secrets); err != nil {
		diags.AddAttributeError(path.Root("secret_outputs"), "Invalid Secret Outputs", "The secret outputs cannot be represented.")
	}
	if m.Manifests, err = goToDynamic(manifests); err != nil {
		diags.AddAttributeError(path.Root("manifests"), "Invalid Manifests", "The manifests cannot be represented: "+err.Error())
	}
	diags.Append(m.moveSecretOutputsToJSON(secrets)...)
	diags.Append(m.setDeployerResult(res)...)
	m.GitCommit = types.StringValue(res.GitCommit)
	m.ImageDigest = types.StringValue(res.ImageID)
	m.JobName = types.StringValue(res.JobName)
	if res.Namespace != "" {
		m.Namespace = types.StringValue(res.Namespace)
	}
	return diags
}

// setFailedResult records what is known of a failed create: the Job, the runner's status
// and image, so what the runner may have made is traceable.
func (m *runResourceModel) setFailedResult(e *containerdriver.RunError) diag.Diagnostics {
	m.JobName = types.StringValue(e.JobName)
	if e.Namespace != "" {
		m.Namespace = types.StringValue(e.Namespace)
	}
	if e.Runner == nil {
		return nil
	}
	m.ImageDigest = types.StringValue(e.Runner.ImageID)
	st := *e.Runner
	st.ErrorDigest = e.Digest()
	diags := m.setDeployerResult(&containerdriver.Result{Runner: st})
	m.StateSize = types.Int64Null()
	return diags
}

func setEmptyResult(m *runResourceModel) {
	m.Outputs = types.DynamicNull()
	m.SecretOutputs = types.DynamicNull()
	m.Manifests = types.DynamicNull()
	m.SecretOutputsJSON = types.StringNull()
	m.GitCommit = types.StringNull()
	m.ImageDigest = types.StringNull()
	m.JobName = types.StringNull()
	m.setDeployerEmpty()
	if m.Namespace.IsUnknown() {
		m.Namespace = types.StringNull()
	}
}

func (m *runResourceModel) copyResult(from *runResourceModel) {
	m.Outputs, m.SecretOutputs, m.Manifests, m.SecretOutputsJSON = from.Outputs, from.SecretOutputs, from.Manifests, from.SecretOutputsJSON
	m.GitCommit, m.ImageDigest, m.JobName = from.GitCommit, from.ImageDigest, from.JobName
	m.StateSize, m.RunnerStatus = from.StateSize, from.RunnerStatus
}

// runInputsChanged reports whether an attribute that shapes the run differs between the
// plan and the state.
func runInputsChanged(ctx context.Context, plan tfsdk.Plan, state tfsdk.State) (bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	for _, name := range runInputAttributes {
		var p, s attr.Value
		diags.Append(plan.GetAttribute(ctx, path.Root(name), &p)...)
		diags.Append(state.GetAttribute(ctx, path.Root(name), &s)...)
		if diags.HasError() {
			return true, diags
		}
		if !p.Equal(s) {
			return true, diags
		}
	}
	return false, diags
}

// newRunID returns a random (version 4) UUID.
func newRunID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// tflogObserver sends a run's progress to the Terraform log.
type tflogObserver struct {
	ctx context.Context
}

func (o tflogObserver) Event(msg string) { tflog.Info(o.ctx, msg) }

func (o tflogObserver) LogLine(container, line string) {
	fields := map[string]any{"container": container}
	if container == contract.ContainerRunner {
		tflog.Info(o.ctx, line, fields)
		return
	}
	tflog.Debug(o.ctx, line, fields)
}
