package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// addRunFailure turns a failed run into a diagnostic on the attribute the user would
// change, with a hint that fits where the run stopped.
func addRunFailure(diags *diag.Diagnostics, e *containerdriver.RunError, action string) {
	detail := runFailureDetail(e, action)
	if p, ok := runFailurePath(e, action); ok {
		diags.AddAttributeError(p, "Container Run Failed", detail)
		return
	}
	diags.AddError("Container Run Failed", detail)
}

// runFailurePath is the attribute a failure points at (RunError.Path), when one attribute
// is the likely cause.
func runFailurePath(e *containerdriver.RunError, action string) (path.Path, bool) {
	if p := e.Path(action); p != nil {
		return attrPath(p), true
	}
	return path.Empty(), false
}

// timeoutHint tells how to raise the timeout, in the attribute syntax of the schema's
// timeouts (an attribute, not a block).
func timeoutHint(action string, timeout time.Duration) string {
	longer := "1h"
	if timeout > 0 {
		longer = (2 * timeout).String()
	}
	if action == contract.ActionDestroy {
		return fmt.Sprintf(`Raise the timeout if the runner needs longer: timeouts = { delete = %q }.`, longer)
	}
	return fmt.Sprintf(`Raise the timeout if the runner needs longer: timeouts = { create = %q, update = %q } `+
		`(create bounds the first run, update the runs after a change).`, longer, longer)
}

// runTimeoutDetail is the detail of a run whose context deadline (the resource's
// timeout) passed before the Job ended.
func runTimeoutDetail(action, namespace string, timeout time.Duration, err error) string {
	return fmt.Sprintf("The %s run in namespace %s did not finish within %s: %v\n\n%s "+
		"To see what it was doing, set keep_job = true and inspect the Job (kubectl -n %s get jobs -l %s=%s).",
		action, namespace, timeout, err, timeoutHint(action, timeout), namespace, contract.LabelAction, action)
}

func runFailureDetail(e *containerdriver.RunError, action string) string {
	var b strings.Builder
	b.WriteString(e.Detail())
	b.WriteString("\n")
	b.WriteString(runFailureHint(e, action))
	switch {
	case action == contract.ActionDestroy:
		b.WriteString("\nThe resource stays in the state until a destroy run succeeds, or until the run is removed without one (the ways out follow).")
	case e.RunnerStarted():
		b.WriteString("\nThe runner ran, so this run is recorded (tainted) with its run id: the next apply first destroys it with these same inputs " +
			"(ACTION=destroy, so the runner can remove what it may have made), then creates it again with your configuration. " +
			"If that destroy fails with exactly this error, the failed run is dropped from the state with a warning.")
	}
	return b.String()
}

// runFailureHint says what to do next, from where the run stopped.
func runFailureHint(e *containerdriver.RunError, action string) string {
	switch {
	case e.Reason == containerdriver.ReasonTimeout || e.Reason == containerdriver.ReasonInterrupted:
		return "The pod was given its termination grace period to stop: the runner got SIGTERM, and outputs-fetcher saved its state directory (if it has one) after it."
	case e.Reason == containerdriver.ReasonPodDeleted:
		return "Nothing in the run failed by itself: its pod was removed from under it. Apply again to run it again with the same run id."
	case e.ImageNotPulled() && e.InSidecar():
		return "The sidecar image (the " + e.Container + " container's) could not be pulled, so the runner never started and nothing was changed. " +
			"Set sidecar_image in the provider block (or in the runner configuration), or the CONTAINERDRIVER_SIDECAR_IMAGE environment variable, " +
			"to an image the cluster can pull: the released sidecar image of this provider's version, or one built from ./sidecars (make images)."
	case e.ImageNotPulled() && e.InRunner():
		return "The runner image (job.image) could not be pulled, so the runner never started and nothing was changed. " +
			"Check the image reference, that the cluster's nodes can reach its registry, and the image pull secrets " +
			"(imagePullSecrets in job.pod_template or in the runner's pod_template)."
	case e.Reason == containerdriver.ReasonInvalidOutputs:
		return "The runner ended, but its output files break the contract: OUTPUTS_FILE and SECRET_OUTPUTS_FILE must each hold one JSON object " +
			"(or be absent). Fix what the runner image writes there; its log above may show what it wrote."
	case e.Reason == containerdriver.ReasonInvalidManifests:
		return "The runner ended, but the output named by manifests_output is not a list of Kubernetes objects (or one object). " +
			"Fix the runner's output, or manifests_output."
	case e.Reason == containerdriver.ReasonOutputsMissing:
		return "The runner ended, but the outputs-fetcher could not bring its outputs back (its log above says why). " +
			"Check that the run's service account may create ConfigMaps and Secrets in the namespace."
	case e.Reason == containerdriver.ReasonStateNotSaved:
		return "The runner ended, but the state directory (state_path) could not be saved to Secrets in the namespace (the outputs-fetcher's log above says why). " +
			"Check that the run's service account may create, update and delete Secrets there."
	case e.Reason == containerdriver.ReasonDeadlineExceeded:
		return timeoutHint(action, 0)
	case e.Reason == containerdriver.ReasonUnschedulable:
		return "The pod could not be scheduled within unschedulable_grace (the message above says why), so the runner never started. " +
			"Check the node selectors, tolerations and resource requests of job.pod_template and of the runner's pod_template, " +
			"or raise unschedulable_grace if the cluster needs longer to add a node."
	case e.Reason == containerdriver.ReasonContractMismatch && e.ExitCode != nil: // a sidecar's refusal (exit code 78)
		return "A sidecar of the run's sidecar image refused this provider's contract version before the runner started, so nothing was changed. Use " +
			"the sidecar image of this provider's version: sidecar_image in the provider block (or in the runner configuration), or the " +
			"CONTAINERDRIVER_SIDECAR_IMAGE environment variable."
	case e.Reason == containerdriver.ReasonNativeSidecarsUnsupported:
		return "The cluster does not run native sidecars (init containers with restartPolicy: Always), which the run's outputs-fetcher is, " +
			"so nothing was run. Upgrade the cluster to Kubernetes 1.29 or later, or turn the SidecarContainers feature gate on."
	case e.Reason == containerdriver.ReasonContractMismatch:
		return "Nothing was recorded from this run's outputs. Use the sidecar image of this provider's version: sidecar_image in the provider " +
			"block (or in the runner configuration), or the CONTAINERDRIVER_SIDECAR_IMAGE environment variable."
	case e.InRunner() && e.Reason == containerdriver.ReasonOOMKilled:
		return "The runner was killed for using more memory than its limit. Raise resources.limits.memory of the runner container " +
			"in job.pod_template (spec.containers with name: runner)."
	case e.InRunner() && e.ErrorFile != "":
		return "The runner reported the error above in its error file. Fix the cause (inputs, credentials, the IaC code) and apply again."
	case e.InRunner() && e.ExitCode != nil:
		return "The runner failed without writing its error file. Its log above may tell why; a runner should write the cause to $ERROR_FILE."
	case e.Container == contract.ContainerPreChecks:
		return "The pre-checks failed: the service account cannot create the ConfigMaps and Secrets the outputs come back through. " +
			"Grant it create on configmaps and secrets in the namespace (containerdriver_runner with create_service_account = true does), " +
			"or set skip_permission_checks = true."
	case e.Container == contract.ContainerGitInit:
		return "The git checkout failed: check source.url, source.ref and the credentials, and that the cluster can reach the repository."
	case e.ContainerNotCreated():
		return "The " + e.Container + " container could not be created (the message above says why), so it never started. " +
			"Check what job.pod_template and the runner's pod_template add to it (volumes, secrets, security context)."
	}
	return "Set keep_job = true to keep the Job and its pod for inspection."
}

// durationCheck validates one of the timeouts: a Go duration, with the attribute and the
// syntax in the message (the timeouts module's own validator names neither).
type durationCheck struct{ name string }

var _ validator.String = durationCheck{}

func (v durationCheck) Description(context.Context) string {
	return `a duration such as "30m", "1h30m" or "90s"`
}

func (v durationCheck) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Timeout", fmt.Sprintf(
			"timeouts.%s: %q is not a duration. Write a number with a unit (s, m or h), for example timeouts = { %s = \"30m\" } or \"1h30m\".",
			v.name, req.ConfigValue.ValueString(), v.name))
	}
}

// withTimeoutChecks replaces the validators of the timeouts attribute's durations with
// durationCheck.
func withTimeoutChecks(a schema.Attribute) schema.Attribute {
	n, ok := a.(schema.SingleNestedAttribute)
	if !ok {
		return a
	}
	attrs := make(map[string]schema.Attribute, len(n.Attributes))
	for name, sub := range n.Attributes {
		if s, ok := sub.(schema.StringAttribute); ok {
			s.Validators = []validator.String{durationCheck{name: name}}
			sub = s
		}
		attrs[name] = sub
	}
	n.Attributes = attrs
	return n
}

// attributeDetail starts a plan-time error with the attribute it is about ("job.pod_template:
// ..."), since Terraform can underline only the resource for attributes nested in an object.
func attributeDetail(p path.Path, detail string) string {
	return p.String() + ": " + detail
}

// podTemplateHint is what to do about an invalid pod template.
func podTemplateHint(p path.Path, err error) string {
	if errors.Is(err, containerdriver.ErrInvalidPodTemplate) {
		return "Give " + p.String() + " a PodTemplateSpec in YAML (or JSON), for example \"spec:\\n  nodeSelector:\\n    kubernetes.io/os: linux\\n\"; " +
			"yamlencode({ spec = { ... } }) writes one from HCL."
	}
	return "Remove these fields from " + p.String() + ": the driver sets them (the message names the attribute to use instead, where there is one)."
}

// forceDestroyDetail says what a destroy with force_destroy skipped and what it removed.
func forceDestroyDetail(spec *containerdriver.RunSpec) string {
	return forceDestroyDetailFor(spec, "force_destroy is set")
}

// forceDestroyDetailFor is forceDestroyDetail for a force destroy that why asked for.
func forceDestroyDetailFor(spec *containerdriver.RunSpec, why string) string {
	action := "ACTION=destroy"
	if spec.Contract == containerdriver.ContractContainerDeployer {
		action = "OPERATION=DELETE"
	}
	return fmt.Sprintf("%s, so the destroy run did not happen: the image %s did not run with %s "+
		"for run %s, and whatever that runner created outside the cluster is left as it is. "+
		"Removed from namespace %s: the run's Jobs, their pods, Secrets and ConfigMaps, and its saved state (state_path).",
		why, spec.Job.Image, action, spec.RunID, spec.Namespace())
}

// envForceDestroyRuns names run ids (comma-separated) whose destroy removes what the run
// keeps in the cluster without running the destroy container, as force_destroy does: the
// way out for a run whose destroy keeps failing and that the configuration cannot reach
// (a failed create being replaced, a resource removed from the configuration).
const envForceDestroyRuns = "CONTAINERDRIVER_FORCE_DESTROY_RUNS"

// forceDestroyRequested reports whether id is among the runs named in envForceDestroyRuns.
func forceDestroyRequested(id string) bool {
	if id == "" {
		return false
	}
	for _, f := range strings.FieldsFunc(os.Getenv(envForceDestroyRuns), func(r rune) bool { return r == ',' || r == ' ' }) {
		if f == id {
			return true
		}
	}
	return false
}

// destroyWayOut tells a user whose destroy failed how to get the run out of the state:
// the run id, its namespace, and the exact commands.
func destroyWayOut(m *runResourceModel) string {
	id, ns := m.ID.ValueString(), m.Namespace.ValueString()
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s in namespace %s stays in the Terraform state until its destroy succeeds. Every apply destroys it first, "+
		"with the inputs, image and commit recorded for it: a changed configuration (force_destroy included) does not reach it.\n", id, ns)
	if m.Outputs.IsNull() {
		b.WriteString("This run never completed a create: it is the failed (tainted) instance that a replacement destroys first. ")
		b.WriteString("If its runner made nothing worth a destroy, way 2 gets it out without editing the state.\n")
	}
	fmt.Fprintf(&b, "\nWays out:\n"+
		"1. Fix what makes the destroy fail (the error above), then run the same command again.\n"+
		"2. Remove the run without running its destroy container, with the configuration as it is:\n"+
		"     %s=%s terraform apply    (or terraform destroy; tofu alike)\n"+
		"   The provider then deletes the run's Jobs, pods, input Secrets and ConfigMaps and its saved state in namespace %s "+
		"(what force_destroy = true does) and drops it from the state. Whatever the runner made elsewhere stays: remove it by hand.\n"+
		"3. Or forget the run: terraform state rm '<this resource's address>', then\n"+
		"     kubectl -n %s delete jobs,secrets,configmaps -l %s=%s\n"+
		"   and the state Secrets labelled %s, if the run kept state (state_path).",
		envForceDestroyRuns, id, ns, ns, contract.LabelRunID, containerdriver.RunLabel(id), contract.LabelStateOf)
	return b.String()
}
