// Package contract is the single source of truth for the interface between the
// executor (which builds and watches the Job), the sidecar binaries that run inside
// the Job, and the user's runner image. It imports the standard library only, so
// that both sides compile against the same names and can never disagree.
package contract

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Runner environment: the Container Driver contract.
const (
	// EnvAction is create or destroy (or plan, for runners that support it: see ActionPlan).
	EnvAction = "ACTION"
	// EnvScriptsDirectory is the directory the runner works in: job.shared_directory.
	EnvScriptsDirectory = "SCRIPTS_DIRECTORY"
	// EnvResourceInputsFile names the JSON file holding the run's inputs.
	EnvResourceInputsFile = "RESOURCE_INPUTS_FILE"
	// EnvOutputsFile names the file the runner writes its non-sensitive outputs to.
	EnvOutputsFile = "OUTPUTS_FILE"
	// EnvSecretOutputsFile names the file the runner writes its sensitive outputs to.
	EnvSecretOutputsFile = "SECRET_OUTPUTS_FILE"
	// EnvErrorFile names the file the runner writes its error message to.
	EnvErrorFile = "ERROR_FILE"
	// EnvRunID is this project's addition: a stable identity of the resource across create,
	// updates and destroy, so a runner can key its state (for example a backend's state
	// Secret) by it.
	EnvRunID = "CONTAINERDRIVER_RUN_ID"
)

// Actions.
const (
	ActionCreate  = "create"
	ActionDestroy = "destroy"
)

// Sidecar environment (in addition to the runner's file variables, which the sidecars
// also receive so they read and write the same paths).
const (
	EnvPodName       = "POD_NAME"
	EnvPodNamespace  = "POD_NAMESPACE"
	EnvJobName       = "JOB_NAME"
	EnvJobUID        = "JOB_UID"
	EnvOutputsObject = "OUTPUTS_OBJECT_NAME" // base name of the outputs ConfigMap(s) and Secret(s)
	EnvGitCommitFile = "GIT_COMMIT_FILE"
	EnvGitURL        = "GIT_URL"
	EnvGitRef        = "GIT_REF"
	EnvGitPath       = "GIT_PATH"
	EnvGitUsername   = "GIT_USERNAME"
	EnvGitPassword   = "GIT_PASSWORD"
	EnvGitSSHKey     = "GIT_SSH_KEY"
	// EnvGitKnownHosts optionally pins the SSH host keys (known_hosts format); when it is
	// empty the host key is not verified.
	EnvGitKnownHosts = "GIT_KNOWN_HOSTS"
	// EnvServiceAccount names the pod's service account for pre-checks' messages (the
	// token does not carry it in a file; the executor sets it from spec.serviceAccountName).
	EnvServiceAccount = "SERVICE_ACCOUNT"
)

// Container names of the Job's pod.
const (
	ContainerRunner         = "runner"
	ContainerOutputsFetcher = "outputs-fetcher"
	ContainerPreChecks      = "pre-checks"
	ContainerGitInit        = "git-init"
)

// The sidecar image's programs are at these paths: symbolic links to its one binary,
// SidecarBinary (see SidecarCommands), except the runner helper. The paths are part of the
// contract with sidecar images already released, so they keep their first names even where
// the Go package was renamed: inigit runs sidecars/gitinit, statekeeper sidecars/staterestore.
const (
	SidecarBinDir         = "/opt/container-driver"
	SidecarBinary         = SidecarBinDir + "/sidecar"
	OutputsFetcherCommand = SidecarBinDir + "/outputsfetcher"
	PreChecksCommand      = SidecarBinDir + "/prechecks"
	GitInitCommand        = SidecarBinDir + "/inigit"
	// RunnerHelperCommand is the IaC runner helper the templates copy into their images.
	RunnerHelperCommand = SidecarBinDir + "/runner-helper"
)

// Volume names and fixed mount points.
const (
	SharedVolume = "shared-directory"
	// InputsVolume is a Secret volume holding the resource inputs file. Inputs may carry
	// values the user considers sensitive, so they never go into a ConfigMap.
	InputsVolume    = "resource-inputs"
	InputsMountPath = "/var/run/containerdriver/inputs"
	InputsFileKey   = "inputs.json"
	FilesVolume     = "files"
	SecretFiles     = "secret-files"
	// APIAccessVolume is the projected service account token (token, ca.crt, namespace)
	// that the pod no longer gets automatically: it is mounted only into the containers
	// that talk to the API (outputs-fetcher, pre-checks, state-restore), and into the
	// runner only when the run asks for it.
	APIAccessVolume = "containerdriver-api-access"
	// APIAccessMountPath is where client-go's rest.InClusterConfig looks for it.
	APIAccessMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
	// APIAccessTokenSeconds is the token's lifetime; the kubelet renews it before it expires.
	// Not 3607: the API server extends a pod-bound token asked for exactly 3607 seconds to a
	// year for legacy clients (--service-account-extend-token-expiration, on by default).
	APIAccessTokenSeconds = 3600
)

// Contract files inside the shared directory. They sit at its top level because the
// emptyDir's root is the only directory that is writable by any UID without an init
// step; the names are distinctive so that a git checkout is unlikely to collide.
const (
	OutputsFileName       = "outputs.json"
	SecretOutputsFileName = "secret-outputs.json"
	ErrorFileName         = "error.txt"
	// GitCommitFileName is where git-init records the commit for the runner to read. The
	// driver never reads it back (the runner can rewrite it): git-init hands the commit to
	// the executor in its termination message (GitCommitMessage).
	GitCommitFileName = ".containerdriver-git-commit"
)

// GitCommitMessagePrefix starts the line of git-init's termination message that names
// the commit it checked out: "commit=<hex>". The kubelet keeps a container's termination
// message in the pod's status, where only the container itself could have written it.
const GitCommitMessagePrefix = "commit="

// GitCommitMessage is git-init's termination message after it checked out commit.
func GitCommitMessage(commit string) string { return GitCommitMessagePrefix + commit + "\n" }

// Keys of the outputs ConfigMap(s) and Secret(s) written by outputs-fetcher.
const (
	// KeyOutputs holds a chunk of OUTPUTS_FILE in the ConfigMap(s), and a chunk of
	// SECRET_OUTPUTS_FILE in the Secret(s).
	KeyOutputs = "outputs.json"
	// KeyError holds ERROR_FILE (in the Secret: an error text may echo a credential).
	KeyError = "error.txt"
	// KeyProblems holds the sidecar's own findings (invalid JSON, oversized file): JSON list of strings.
	KeyProblems = "problems.json"
)

// Limits.
const (
	// ChunkSize bounds the payload per ConfigMap or Secret, well below the 1 MiB object limit.
	ChunkSize = 512 * 1024
	// MaxOutputsBytes bounds one outputs file; a larger file is reported as an error.
	MaxOutputsBytes = 16 * 1024 * 1024
	// MaxErrorBytes bounds the error file kept; a longer one keeps its tail.
	MaxErrorBytes = 64 * 1024
)

// Labels and annotations.
const (
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	ManagedByValue      = "containerdriver"
	LabelRunID          = "containerdriver.io/run-id"
	LabelAction         = "containerdriver.io/action"
	LabelJob            = "containerdriver.io/job"
	LabelRole           = "containerdriver.io/role"
	LabelChunkIndex     = "containerdriver.io/chunk-index"
	AnnotationChunks    = "containerdriver.io/chunks"
	AnnotationSpecHash  = "containerdriver.io/spec-hash"
	RoleOutputs         = "outputs"
	RoleSecretOutputs   = "secret-outputs"
	RoleInputs          = "inputs"
	RoleFiles           = "files"
	RoleSecretFiles     = "secret-files"
	RoleSecretVariables = "secret-variables"
	RoleSource          = "source-credentials"
	RoleCredentials     = "credentials"
)

// Paths derived from the shared directory.
func OutputsFile(shared string) string       { return path.Join(shared, OutputsFileName) }
func SecretOutputsFile(shared string) string { return path.Join(shared, SecretOutputsFileName) }
func ErrorFile(shared string) string         { return path.Join(shared, ErrorFileName) }
func GitCommitFile(shared string) string     { return path.Join(shared, GitCommitFileName) }

// Version is the version of the contract between the provider and its sidecars (the
// objects outputs-fetcher writes, the files and variables the sidecars read). It changes
// only when a provider could misread what a sidecar of another version writes.
//
// 2: git-init hands the checked-out commit to the executor in its termination message (a
// version-1 sidecar wrote it to a file in the shared directory, which the runner can
// rewrite), and outputs-fetcher refuses runner files that are not regular files. A
// version-1 sidecar image would leave git_commit empty, so destroy would silently check
// out source.ref instead of the recorded commit: the version makes that a loud mismatch.
const Version = "2"

// EnvContractVersion is the sidecar contract Version the provider speaks, set on every
// sidecar container. A sidecar of another version refuses to start: it writes why to its
// termination log and exits with ExitContractMismatch, so pre-checks (the first init
// container that runs to completion) fails the pod before the runner starts. A sidecar
// started without it (by an older provider) does not check.
const EnvContractVersion = "CONTAINERDRIVER_CONTRACT_VERSION"

// ExitContractMismatch is the exit code of a sidecar that refused to start because the
// provider speaks another sidecar contract version (EX_CONFIG of sysexits.h).
const ExitContractMismatch = 78

// ContractMismatch is why a sidecar of contract Version refuses a provider that asks for
// want (CONTAINERDRIVER_CONTRACT_VERSION), or "" when it does not refuse: want is Version,
// or empty (an older provider that does not ask).
func ContractMismatch(want string) string {
	if want == "" || want == Version {
		return ""
	}
	return "this sidecar image speaks version " + Version + " of the sidecar contract and the provider version " + want +
		": use the sidecar image released with the provider (the provider's or the runner's sidecar_image, or CONTAINERDRIVER_SIDECAR_IMAGE)"
}

// StateRestoredFileName is the marker state-restore writes into the shared directory once
// the saved state is in STATE_PATH in full. outputs-fetcher saves the state only when it is
// there: a run stopped before the restore finished (an init container failed) must not
// save an empty or partial directory over the last good state.
const StateRestoredFileName = ".containerdriver-state-restored"

// StateRestoredFile is the marker's path in the shared directory.
func StateRestoredFile(shared string) string { return path.Join(shared, StateRestoredFileName) }

// InputsFile is RESOURCE_INPUTS_FILE.
func InputsFile() string { return path.Join(InputsMountPath, InputsFileKey) }

// ChunkName is the name of the i-th chunk object of a base name: base, base-1, base-2...
func ChunkName(base string, i int) string {
	if i == 0 {
		return base
	}
	return base + "-" + strconv.Itoa(i)
}

// OutputsObjectName is the base name of the outputs ConfigMap(s) and Secret(s) of a Job.
func OutputsObjectName(job string) string { return job + "-out" }

// ObjectName returns the name of an object the executor creates for a Job.
func ObjectName(job, role string) string { return job + "-" + role }

// ShortHash is a stable, DNS-label-safe digest of s.
func ShortHash(s string, n int) string {
	h := sha256.Sum256([]byte(s))
	x := hex.EncodeToString(h[:])
	if n > len(x) {
		n = len(x)
	}
	return x[:n]
}

var labelValueRe = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

// RunLabel is the value of LabelRunID for a run: the run id itself when it is a valid
// label value (a UUID is), else its hash.
func RunLabel(runID string) string {
	if len(runID) <= 63 && labelValueRe.MatchString(runID) {
		return runID
	}
	return ShortHash(runID, 32)
}

// SanitizeName lower-cases s and keeps [a-z0-9-], so it can be part of an object name.
func SanitizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}

// The container deployer contract (selectable per run; the Container Driver's is the
// default). An image written for that system runs unchanged.
const (
	EnvOperation               = "OPERATION"
	OperationReconcile         = "RECONCILE"
	OperationDelete            = "DELETE"
	EnvImportsPath             = "IMPORTS_PATH"
	EnvExportsPath             = "EXPORTS_PATH"
	EnvTargetPath              = "TARGET_PATH"
	EnvStatePath               = "STATE_PATH"
	EnvComponentDescriptorPath = "COMPONENT_DESCRIPTOR_PATH"
	EnvContentPath             = "CONTENT_PATH"

	// ExportsFileName is EXPORTS_PATH inside the shared directory; JSON or YAML.
	ExportsFileName = "exports"

	DeployerVolume              = "deployer-data"
	TargetVolume                = "target"
	TargetMountPath             = "/var/run/containerdriver/target"
	TargetFileKey               = "target.json"
	ComponentDescriptorMount    = "/var/run/containerdriver/component-descriptor"
	ComponentDescriptorFileName = "component-descriptor.json"
	ContentMountPath            = "/var/run/containerdriver/content"

	// EnvOutputsFormat tells outputs-fetcher how to read OUTPUTS_FILE: "json" (default)
	// or "json-or-yaml" (the deployer's exports).
	EnvOutputsFormat        = "OUTPUTS_FORMAT"
	OutputsFormatJSONOrYAML = "json-or-yaml"
)

// State directory kept between runs.
const (
	StateVolume           = "state"
	ContainerStateRestore = "state-restore"
	// StateRestoreCommand runs state-restore (sidecars/staterestore), the init container
	// that restores the state directory; outputs-fetcher saves it again.
	StateRestoreCommand = SidecarBinDir + "/statekeeper"
	// KeyContractVersion (outputs ConfigMap) is the version of this contract outputs-fetcher
	// speaks: the provider refuses outputs written by a sidecar it does not understand.
	KeyContractVersion = "contract-version"
	// KeyStateBytes (outputs ConfigMap) is the size of the saved state archive.
	KeyStateBytes = "state-bytes"
	// KeyStateError (outputs ConfigMap) says why the state could not be saved.
	KeyStateError = "state-error"
)

// SidecarCommands are the command paths that link to SidecarBinary, which runs the
// program its name names.
func SidecarCommands() []string {
	return []string{OutputsFetcherCommand, PreChecksCommand, GitInitCommand, StateRestoreCommand}
}

// ExportsFile is EXPORTS_PATH.
func ExportsFile(shared string) string { return path.Join(shared, ExportsFileName) }

// The plan action (ACTION=plan): a runner that declares plan support (the run's
// plan.preview or plan.detect_drift) is asked, with the same inputs, files, source and
// credentials as a create, what a create (or, with PLAN_DESTROY=true, a destroy) would
// change, and must change nothing. It writes PLAN_FILE (the human-readable plan) and
// PLAN_SUMMARY_FILE (a PlanSummary as JSON), and may leave a plan artifact (a saved
// `tofu plan -out` file, for example) in PLAN_ARTIFACT_DIR. When a later create is handed
// that artifact, its runner finds it in PLAN_ARTIFACT_DIR again and PLAN_APPLY=true: it
// applies exactly that artifact, or fails (it never plans anew on its own). Runners that
// do not declare plan support are never asked, and never get these variables.
const (
	ActionPlan = "plan"
	// EnvPlanDestroy is "true" when ACTION=plan previews a destroy, else "false".
	EnvPlanDestroy = "PLAN_DESTROY"
	// EnvPlanFile names the file the runner writes its human-readable plan to.
	EnvPlanFile = "PLAN_FILE"
	// EnvPlanSummaryFile names the file the runner writes its PlanSummary (JSON) to.
	EnvPlanSummaryFile = "PLAN_SUMMARY_FILE"
	// EnvPlanArtifactDir names a directory: empty in a plan run, where the runner may leave
	// the artifact a create applies; in a create that is handed one, the artifact.
	EnvPlanArtifactDir = "PLAN_ARTIFACT_DIR"
	// EnvPlanApply is "true" in a create handed a plan artifact: apply exactly it.
	EnvPlanApply = "PLAN_APPLY"

	PlanFileName        = "plan.txt"
	PlanSummaryFileName = "plan-summary.json"
	PlanArtifactDirName = ".containerdriver-plan"

	// MaxPlanTextBytes bounds the plan text kept; a longer one keeps its head and says so.
	MaxPlanTextBytes = 256 * 1024
	// MaxPlanArtifactBytes bounds the compressed plan artifact.
	MaxPlanArtifactBytes = 8 * 1024 * 1024
)

// PlanSummary is PLAN_SUMMARY_FILE: what the create (or destroy) the runner previewed
// would do. HasChanges is what decides (it also covers changes to outputs only, which the
// counts do not show); the counts are for people.
type PlanSummary struct {
	Add        int  `json:"add"`
	Change     int  `json:"change"`
	Destroy    int  `json:"destroy"`
	HasChanges bool `json:"has_changes"`
}

// Paths of the plan files in the shared directory.
func PlanFile(shared string) string        { return path.Join(shared, PlanFileName) }
func PlanSummaryFile(shared string) string { return path.Join(shared, PlanSummaryFileName) }
func PlanArtifactDir(shared string) string { return path.Join(shared, PlanArtifactDirName) }
