package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Carrying out a containerdriver_run: claiming its run id, running it through the
// executor, turning failures into diagnostics and recording its result.

// The way from a run's model to the executor, written once: runSpec builds the spec,
// executor makes an executor on the provider's client, and plumb does both. Every call of
// the executor for a containerdriver_run starts here.

// runSpec builds m's RunSpec with the provider's sidecar image. unknown are the attributes
// still unknown (at plan time; a run refuses them). diags says why there is no spec: the
// provider is not configured, or the model does not convert.
func (r *runResource) runSpec(ctx context.Context, m *runResourceModel) (*containerdriver.RunSpec, []containerdriver.Path, diag.Diagnostics) {
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
	return spec, b.unknown, diags
}

// executor returns an executor on the provider's client that reports to the Terraform log
// of ctx.
func (r *runResource) executor(ctx context.Context) (*containerdriver.Executor, diag.Diagnostics) {
	var diags diag.Diagnostics
	if r.data == nil {
		diags.AddError("Provider Not Configured", "The containerdriver provider was not configured. This is a bug in the provider.")
		return nil, diags
	}
	client, d := r.data.kube.Client()
	diags.Append(d...)
	if diags.HasError() {
		return nil, diags
	}
	return &containerdriver.Executor{Client: client, Observer: tflogObserver{ctx: ctx}}, diags
}

// plumb is runSpec and executor, for callers that act on what the cluster keeps for m's
// run (its unknown attributes do not matter to them).
func (r *runResource) plumb(ctx context.Context, m *runResourceModel) (*containerdriver.RunSpec, *containerdriver.Executor, diag.Diagnostics) {
	spec, _, diags := r.runSpec(ctx, m)
	if diags.HasError() {
		return nil, nil, diags
	}
	exec, d := r.executor(ctx)
	diags.Append(d...)
	if diags.HasError() {
		return nil, nil, diags
	}
	return spec, exec, diags
}

// claimRunID gives a create its run id: a new one, or that of an identical create whose
// caller died before recording it (see containerdriver.ClaimCreate).
func (r *runResource) claimRunID(ctx context.Context, plan *runResourceModel) (*containerdriver.CreateClaim, diag.Diagnostics) {
	var diags diag.Diagnostics
	// A previewed create runs under the id its preview ran with (run_resource_preview.go).
	newID := newRunID
	plannedID := ""
	if planned := plan.ID.ValueString(); !plan.ID.IsUnknown() && planned != "" {
		plannedID = planned
		newID = func() string { return planned }
	}
	plan.ID = types.StringValue(newID())
	spec, unknown, d := r.runSpec(ctx, plan)
	if d.HasError() || len(unknown) > 0 {
		return nil, diags // r.run reports these
	}
	exec, d := r.executor(ctx)
	if d.HasError() {
		return nil, diags // and this
	}
	claim, err := exec.ClaimCreate(ctx, spec, newID)
	switch {
	case errors.Is(err, containerdriver.ErrClaimsUnavailable):
		diags.AddWarning("Run Not Protected Against Crashes", fmt.Sprintf(
			"The provider's credentials may not use Leases in namespace %s (%v), so this create cannot be resumed if Terraform is killed "+
				"while it runs: a retry would start the runner again under a new run id. Grant get, list, watch, create, update and delete on "+
				"leases (API group coordination.k8s.io) in that namespace.", spec.Namespace(), err))
		return nil, diags
	case err != nil && apierrors.IsAlreadyExists(err) && plannedID != "":
		diags.AddError("Previewed Run Id Taken", fmt.Sprintf(
			"This create was previewed at plan time under run id %s, and another create of this apply (a resource with exactly the same "+
				"configuration and secrets, hence the same plan_id) already holds that id in namespace %s. Nothing was started. Two runs "+
				"with the same id would share what the runner keeps: give the resources different inputs, then run terraform plan again.",
			plannedID, spec.Namespace()))
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

// forceCleanup removes what the run keeps in the cluster without running the destroy
// container (force_destroy, or the run named in envForceDestroyRuns); why, which of the
// two, goes into the warning.
func (r *runResource) forceCleanup(ctx context.Context, m *runResourceModel, timeout time.Duration, why string) diag.Diagnostics {
	spec, exec, diags := r.plumb(ctx, m)
	if diags.HasError() {
		return diags
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tflog.Warn(ctx, "force_destroy: the destroy container does not run; removing the run's Jobs, objects and state", map[string]any{"run_id": spec.RunID, "namespace": spec.Namespace()})
	if err := exec.ForceCleanup(ctx, spec); err != nil {
		diags.AddError("Force Cleanup Failed", fmt.Sprintf(
			"Removing the Jobs, objects and state of run %s in namespace %s failed: %v\n\n"+
				"Check that the provider's credentials may list and delete Jobs, pods, Secrets and ConfigMaps there.", spec.RunID, spec.Namespace(), err))
	} else {
		diags.AddWarning("Destroy Run Skipped", forceDestroyDetailFor(spec, why))
	}
	return diags
}

// run converts the model, runs it and turns failures into diagnostics. The RunError, if
// any, is returned as well so Create can tell where the run stopped.
func (r *runResource) run(ctx context.Context, m *runResourceModel, action string, timeout time.Duration,
	adjust func(*containerdriver.RunSpec),
) (*containerdriver.Result, *containerdriver.RunError, diag.Diagnostics) {
	spec, unknown, diags := r.runSpec(ctx, m)
	if diags.HasError() {
		return nil, nil, diags
	}
	if len(unknown) > 0 {
		diags.AddError("Unknown Run Configuration", fmt.Sprintf(
			"These values are still unknown when the run starts: %s. This is a bug in the provider.", joinPaths(unknown)))
		return nil, nil, diags
	}
	if adjust != nil {
		adjust(spec)
	}
	// The spec is validated once, by the executor (BuildJob): its ValidationErrors become
	// attribute diagnostics below, before anything is created in the cluster.
	exec, d := r.executor(ctx)
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
	exec.Observer = tflogObserver{ctx: ctx} // the run's log fields
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

// privateCreateClaim is the private-state key recording that a create's claim is still in
// the cluster: the create returned it (CreateClaim.Returned) and the state holding the run
// had not been read back yet. Its value names the claim's namespace.
const privateCreateClaim = "create_claim"

// privateData is the framework's private state, as the requests and responses carry it.
type privateData interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// claimReturned keeps the create's claim until the state recording the run is read back
// (confirmRecorded), and notes it in the private state that goes into that state.
func (r *runResource) claimReturned(ctx context.Context, claim *containerdriver.CreateClaim, m *runResourceModel, resp *resource.CreateResponse) {
	if claim == nil {
		return
	}
	if err := claim.Returned(ctx); err != nil {
		tflog.Warn(ctx, "the create claim was not marked returned; a retry still adopts it", map[string]any{"error": err.Error()})
	}
	b, err := json.Marshal(map[string]string{"namespace": m.Namespace.ValueString()})
	if err != nil {
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateCreateClaim, b)...)
}

// confirmRecorded deletes the create claim of run id that the private state says is still
// in the cluster: the caller (a plan, refresh, update or destroy) read the run from the
// persisted state, so no retried create may adopt its id any more. Failures only log: the
// claim stays, and the next operation tries again.
func (r *runResource) confirmRecorded(ctx context.Context, id string, from privateData, to privateData) {
	if from == nil || r.data == nil || id == "" {
		return
	}
	raw, d := from.GetKey(ctx, privateCreateClaim)
	if d.HasError() || len(raw) == 0 {
		return
	}
	var v struct {
		Namespace string `json:"namespace"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Namespace == "" {
		return
	}
	exec, d := r.executor(ctx)
	if d.HasError() {
		return
	}
	if err := exec.ConfirmRecorded(ctx, v.Namespace, id); err != nil {
		tflog.Warn(ctx, "the create claim of a recorded run was not deleted", map[string]any{"error": err.Error()})
		return
	}
	if to != nil {
		_ = to.SetKey(ctx, privateCreateClaim, nil)
	}
}
