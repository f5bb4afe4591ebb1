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
	plan.ID = types.StringValue(newRunID())
	resp.Diagnostics.Append(plan.readWriteOnly(ctx, req.Config)...) // the plan never holds them
	res, runErr, diags := r.run(ctx, &plan, contract.ActionCreate, timeout, nil)
	resp.Diagnostics.Append(diags...)
	if runErr != nil && runnerStarted(runErr) {
		// Saved without outputs, the resource is tainted: the next apply destroys it with
		// the same id (so the runner can clean up what it created) and creates it again.
		setEmptyResult(&plan)
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
		return
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(plan.setResult(res)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
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
	res, _, diags := r.run(ctx, &plan, contract.ActionCreate, timeout, nil)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		// The prior state stays: its inputs are what the last successful run used.
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
	_, _, diags = r.run(ctx, &state, contract.ActionDestroy, timeout, pin)
	resp.Diagnostics.Append(diags...)
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
	exec := &containerdriver.Executor{Client: client, Observer: tflogObserver{ctx: ctx}}
	res, err := exec.Run(ctx, spec, action)
	if err == nil {
		tflog.Info(ctx, "container run succeeded", map[string]any{"job": res.JobName, "exit_code": res.ExitCode})
		return res, nil, diags
	}
	var runErr *containerdriver.RunError
	switch {
	case errors.As(err, &runErr):
		diags.AddError("Container Run Failed", runFailureDetail(runErr, action))
	case addSpecErrors(&diags, err, nil):
	case errors.Is(err, context.DeadlineExceeded):
		diags.AddError("Container Run Timed Out", fmt.Sprintf(
			"The %s run in namespace %s did not finish within %s: %v\n\n"+
				"Raise the timeout (timeouts { %s = \"...\" }) if the runner needs longer, or set keep_job = true and inspect the Job "+
				"(kubectl -n %s get jobs -l %s=%s).",
			action, spec.Namespace(), timeout, err, timeoutName(action), spec.Namespace(), contract.LabelAction, action))
	default:
		diags.AddError("Container Run Error", fmt.Sprintf(
			"The %s run in namespace %s could not be carried out: %v\n\n"+
				"Check that the provider's credentials may create Jobs, Secrets and ConfigMaps and read pods, their logs and ConfigMaps "+
				"in that namespace, and that the namespace exists.", action, spec.Namespace(), err))
	}
	return nil, runErr, diags
}

func timeoutName(action string) string {
	if action == contract.ActionDestroy {
		return "delete"
	}
	return "create"
}

func runFailureDetail(e *containerdriver.RunError, action string) string {
	var b strings.Builder
	b.WriteString(e.Detail())
	b.WriteString("\n")
	switch {
	case e.Container == contract.ContainerRunner && e.ErrorFile != "":
		b.WriteString("The runner reported the error above in its error file. Fix the cause (inputs, credentials, the IaC code) and apply again.")
	case e.Container == contract.ContainerRunner:
		b.WriteString("The runner failed without writing its error file. Its log above may tell why; a runner should write the cause to $ERROR_FILE.")
	case e.Container == contract.ContainerPreChecks:
		b.WriteString("The pre-checks failed: the service account cannot create the ConfigMaps and Secrets the outputs come back through. " +
			"Grant it create on configmaps and secrets in the namespace (containerdriver_runner with create_service_account = true does), " +
			"or set skip_permission_checks = true.")
	case e.Container == contract.ContainerGitInit:
		b.WriteString("The git checkout failed: check source.url, source.ref and the credentials, and that the cluster can reach the repository.")
	default:
		b.WriteString("Set keep_job = true to keep the Job and its pod for inspection.")
	}
	if action == contract.ActionDestroy {
		b.WriteString("\nThe resource stays in the state until a destroy run succeeds.")
	}
	return b.String()
}

// runnerStarted reports whether a failed create may have changed something outside the
// cluster: the runner ran (it exited, or logged something before a timeout) or finished
// but its outputs could not be read.
func runnerStarted(e *containerdriver.RunError) bool {
	switch e.Reason {
	case "InvalidOutputs", "InvalidManifests", "OutputsMissing":
		return true
	}
	if e.Container == contract.ContainerRunner && e.ExitCode != nil {
		return true
	}
	return strings.TrimSpace(e.Logs[contract.ContainerRunner]) != ""
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
	diags.Append(m.setDeployerResult(res)...)
	m.GitCommit = types.StringValue(res.GitCommit)
	m.ImageDigest = types.StringValue(res.ImageID)
	m.JobName = types.StringValue(res.JobName)
	if res.Namespace != "" {
		m.Namespace = types.StringValue(res.Namespace)
	}
	return diags
}

func setEmptyResult(m *runResourceModel) {
	m.Outputs = types.DynamicNull()
	m.SecretOutputs = types.DynamicNull()
	m.Manifests = types.DynamicNull()
	m.GitCommit = types.StringNull()
	m.ImageDigest = types.StringNull()
	m.JobName = types.StringNull()
	m.setDeployerEmpty()
	if m.Namespace.IsUnknown() {
		m.Namespace = types.StringNull()
	}
}

func (m *runResourceModel) copyResult(from *runResourceModel) {
	m.Outputs, m.SecretOutputs, m.Manifests = from.Outputs, from.SecretOutputs, from.Manifests
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
