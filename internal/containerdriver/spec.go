// Package containerdriver runs a container image as a Kubernetes Job following the
// Container Driver contract and brings its outputs back. It is usable without Terraform:
// it imports no terraform-plugin-* package.
package containerdriver

import (
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// DefaultNamespace is the namespace a run uses when none is given, as in the contract (docs/guides/contract.md).
const DefaultNamespace = "humanitec-runner"

// DefaultSidecarImageRepository is where released sidecar images are published; the tag is
// the provider's version.
const DefaultSidecarImageRepository = "ghcr.io/containerdriver/containerdriver-sidecars"

// RunSpec is everything needed to run one container: the contract's inputs and
// secrets, minus the cluster connection (that is the caller's kubernetes.Interface).
type RunSpec struct {
	// RunID identifies the resource across its life (create, updates, destroy). Together with
	// the action and the spec hash it names the Job, so a retry re-attaches to it.
	RunID string

	Job         JobSpec
	Files       map[string]string // path -> content
	SecretFiles map[string]string // path -> sensitive content
	Source      *SourceSpec
	// CredentialsConfig describes how Credentials are exposed to the runner.
	CredentialsConfig *CredentialsConfig
	// Credentials is the (sensitive) credentials object credentials_config draws from.
	Credentials          map[string]any
	SkipPermissionChecks bool
	// ManifestsOutput names the output property holding a list of manifest locations.
	ManifestsOutput string
	// Inputs is written as JSON to RESOURCE_INPUTS_FILE. Nil is written as {}.
	Inputs any
	// SidecarImage is the image holding the outputs-fetcher, pre-checks and git-init binaries.
	SidecarImage string
	// KeepResources leaves the Job and its objects in the cluster for debugging.
	KeepResources bool
	// UnschedulableGrace is how long the pod may stay unschedulable (waiting for a cluster
	// autoscaler, for example) before the run fails; 0 means DefaultUnschedulableGrace.
	UnschedulableGrace time.Duration `json:"-"`
	// Adopted is set on the create of a run id taken over from an interrupted create
	// (ClaimCreate): a Job of that run made with other inputs is refused, not replaced.
	Adopted bool `json:"-"`

	// Contract selects the environment the runner sees: the Container Driver's (default)
	// or the container deployer's.
	Contract Contract
	// State asks for a state directory kept between the runs of this RunID.
	State *StateSpec
	// Target is the container deployer's target, written to TARGET_PATH.
	Target *TargetSpec
	// ComponentDescriptor is JSON written to COMPONENT_DESCRIPTOR_PATH (deployer contract).
	ComponentDescriptor string
	// Content is the content blob, files (relative path -> content) under CONTENT_PATH
	// (deployer contract).
	Content map[string]string

	// WriteOnly, on create, are write-only secrets to keep in the cluster for destroy (the
	// caller has merged them into Job.SecretVariables and SecretFiles already).
	WriteOnly *writeonly.Secrets
	// WriteOnlyFromCluster, on destroy, merges the write-only secrets kept at create into
	// Job.SecretVariables and SecretFiles; a successful destroy deletes them.
	WriteOnlyFromCluster bool

	// Plan, with contract.ActionPlan, says what to preview and where to keep the preview
	// (plan.go); nil previews a create and keeps nothing.
	Plan *PlanSpec
	// PlanApply, with contract.ActionCreate, hands the runner a previewed artifact to apply
	// (PLAN_APPLY=true).
	PlanApply *PlanApply
	// PlanSupport says that the runner is asked to plan (the run has a plan block): its
	// files may then not take the plan files' places. Plan and PlanApply imply it.
	PlanSupport bool `json:"-"`
}

// Contract is a runner contract.
type Contract string

// The runner contracts.
const (
	// ContractContainerDriver is the default: ACTION, RESOURCE_INPUTS_FILE, OUTPUTS_FILE...
	ContractContainerDriver Contract = "container-driver"
	// ContractContainerDeployer is the container deployer's: OPERATION, IMPORTS_PATH,
	// EXPORTS_PATH, TARGET_PATH, STATE_PATH...
	ContractContainerDeployer Contract = "container-deployer"
)

// StateSpec is a state directory restored before the runner starts and saved after it
// ends, even when it fails.
type StateSpec struct {
	// Path is where the runner finds it (STATE_PATH).
	Path string
}

// TargetSpec is what TARGET_PATH holds: {"target": Target, "content": Content}.
type TargetSpec struct {
	// Target is the target object, as read from wherever it lives.
	Target map[string]any
	// Content is the target's content: its config, or the content of its secret reference.
	// It is treated as sensitive: the file is mounted from a Secret.
	Content string
}

// JobSpec is the contract's job object plus its secret variables.
type JobSpec struct {
	Image           string
	Command         []string
	SharedDirectory string
	ServiceAccount  string
	Namespace       string
	// PodTemplates are YAML PodTemplateSpecs merged in order into the default template (a
	// runner configuration's template first, then the run's).
	PodTemplates    []string
	Variables       map[string]string
	SecretVariables map[string]string
	// MountServiceAccountToken gives the runner container the service account's token
	// (the sidecars that talk to the API always get it).
	MountServiceAccountToken bool
}

// SourceSpec is a git repository checked out by git-init.
type SourceSpec struct {
	URL      string
	Ref      string // refs/heads/x, refs/tags/x, a commit SHA, or empty for HEAD
	Path     string // sub directory copied into the scripts directory
	Username string
	Password string // sensitive (HTTPS)
	SSHKey   string // sensitive (SSH)
	// KnownHosts pins the server's SSH host keys; empty accepts any host key.
	KnownHosts string
}

// CredentialsConfig is the contract's credentials_config object.
type CredentialsConfig struct {
	Environment     map[string]string // env var -> flattened credential key, or "*"
	File            string            // relative file that receives the whole credentials as JSON
	ScriptVariables *ScriptVariables
}

// ScriptVariables is credentials_config.script_variables.
type ScriptVariables struct {
	File      string
	Variables map[string]string // variable (dots make nested objects) -> flattened key or "*"
}

// Result is what a run brings back.
type Result struct {
	Outputs       map[string]any
	SecretOutputs map[string]any
	// Manifests is the manifests_output property of the outputs followed by that of the
	// secret outputs.
	Manifests []any
	ExitCode  int32
	// ImageID is what the kubelet reports as the runner's image ID (a digest).
	ImageID string
	// Image is the runner image as the kubelet reports it.
	Image string
	// GitCommit is the commit git-init checked out, when a source was given.
	GitCommit string
	// StateBytes is the size of the saved state archive, when a state directory is used.
	StateBytes int64
	// Runner is the runner container's last status (the container deployer's provider status).
	Runner    RunnerStatus
	JobName   string
	Namespace string
	// Plan is what a plan run (contract.ActionPlan) previewed.
	Plan *PlanResult
}

// RunnerStatus is the runner container's status as the kubelet reported it.
type RunnerStatus struct {
	// ErrorDigest identifies a failure (see RunError.Digest); empty after a success.
	ErrorDigest string
	// State is waiting, running or terminated.
	State    string
	Reason   string
	Message  string
	ExitCode int32
	Image    string
	ImageID  string
}

// Namespace is the namespace the run uses.
func (s *RunSpec) Namespace() string {
	if s.Job.Namespace != "" {
		return s.Job.Namespace
	}
	return DefaultNamespace
}
