package provider

import (
	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-timetypes/timetypes"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type runResourceModel struct {
	ID                types.String  `tfsdk:"id"`
	Runner            types.Object  `tfsdk:"runner"`
	Job               types.Object  `tfsdk:"job"`
	Files             types.Map     `tfsdk:"files"`
	SecretFiles       types.Map     `tfsdk:"secret_files"`
	Source            types.Object  `tfsdk:"source"`
	CredentialsConfig types.Object  `tfsdk:"credentials_config"`
	Credentials       types.Dynamic `tfsdk:"credentials"`
	// jsontypes.Normalized that never prints the value (credentials_json_type.go).
	CredentialsJSON credentialsJSON `tfsdk:"credentials_json"`
	// Write-only: set from the configuration in Create and Update (readWriteOnly), null
	// everywhere else; so are source.password_wo, source.ssh_key_wo and target.content_wo.
	CredentialsJSONWO    types.String   `tfsdk:"credentials_json_wo"`
	SecretVariablesWO    types.Map      `tfsdk:"secret_variables_wo"`
	SecretFilesWO        types.Map      `tfsdk:"secret_files_wo"`
	SecretsWOVersion     types.String   `tfsdk:"secrets_wo_version"`
	SkipPermissionChecks types.Bool     `tfsdk:"skip_permission_checks"`
	ManifestsOutput      types.String   `tfsdk:"manifests_output"`
	Inputs               types.Dynamic  `tfsdk:"inputs"`
	KeepJob              types.Bool     `tfsdk:"keep_job"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
	Outputs              types.Dynamic  `tfsdk:"outputs"`
	SecretOutputs        types.Dynamic  `tfsdk:"secret_outputs"`
	Manifests            types.Dynamic  `tfsdk:"manifests"`
	GitCommit            types.String   `tfsdk:"git_commit"`
	ImageDigest          types.String   `tfsdk:"image_digest"`
	JobName              types.String   `tfsdk:"job_name"`
	Namespace            types.String   `tfsdk:"namespace"`
	// The state directory and the container deployer contract (run_resource_deployer.go).
	Contract            types.String         `tfsdk:"contract"`
	StatePath           types.String         `tfsdk:"state_path"`
	Target              types.Object         `tfsdk:"target"`
	ComponentDescriptor jsontypes.Normalized `tfsdk:"component_descriptor"`
	Content             types.Map            `tfsdk:"content"`
	ForceDestroy        types.Bool           `tfsdk:"force_destroy"`
	UnschedulableGrace  timetypes.GoDuration `tfsdk:"unschedulable_grace"`
	StateSize           types.Int64          `tfsdk:"state_size"`
	RunnerStatus        types.Object         `tfsdk:"runner_status"`
	// Secret outputs as a JSON string (secret_outputs_json.go).
	SecretOutputsAsJSON types.Bool   `tfsdk:"secret_outputs_as_json"`
	SecretOutputsJSON   types.String `tfsdk:"secret_outputs_json"`
	// The runner's plan (run_resource_preview.go).
	Plan        types.Object `tfsdk:"plan"`
	PlanID      types.String `tfsdk:"plan_id"`
	PlanSummary types.Object `tfsdk:"plan_summary"`
	Drift       types.Object `tfsdk:"drift"`
}

// runnerConfigModel is containerdriver_run.runner and containerdriver_runner.config.
type runnerConfigModel struct {
	Namespace            types.String `tfsdk:"namespace"`
	ServiceAccount       types.String `tfsdk:"service_account"`
	PodTemplate          types.String `tfsdk:"pod_template"`
	SkipPermissionChecks types.Bool   `tfsdk:"skip_permission_checks"`
	SidecarImage         types.String `tfsdk:"sidecar_image"`
	// MountServiceAccountToken: null means false.
	MountServiceAccountToken types.Bool `tfsdk:"mount_service_account_token"`
}

type jobModel struct {
	Image           types.String `tfsdk:"image"`
	Command         types.List   `tfsdk:"command"`
	SharedDirectory types.String `tfsdk:"shared_directory"`
	ServiceAccount  types.String `tfsdk:"service_account"`
	Namespace       types.String `tfsdk:"namespace"`
	PodTemplate     types.String `tfsdk:"pod_template"`
	Variables       types.Map    `tfsdk:"variables"`
	SecretVariables types.Map    `tfsdk:"secret_variables"`
	// MountServiceAccountToken: null means false.
	MountServiceAccountToken types.Bool `tfsdk:"mount_service_account_token"`
}

type sourceModel struct {
	URL        types.String `tfsdk:"url"`
	Ref        types.String `tfsdk:"ref"`
	Path       types.String `tfsdk:"path"`
	Username   types.String `tfsdk:"username"`
	Password   types.String `tfsdk:"password"`
	SSHKey     types.String `tfsdk:"ssh_key"`
	KnownHosts types.String `tfsdk:"known_hosts"`
	// Write-only (writeOnlyToSpec).
	PasswordWO types.String `tfsdk:"password_wo"`
	SSHKeyWO   types.String `tfsdk:"ssh_key_wo"`
}

type credentialsConfigModel struct {
	Environment     types.Map    `tfsdk:"environment"`
	File            types.String `tfsdk:"file"`
	ScriptVariables types.Object `tfsdk:"script_variables"`
}

type scriptVariablesModel struct {
	File      types.String `tfsdk:"file"`
	Variables types.Map    `tfsdk:"variables"`
}
