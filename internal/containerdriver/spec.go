// Package containerdriver runs a container image as a Kubernetes Job following the
// Container Driver contract and brings its outputs back. It is usable without Terraform:
// it imports no terraform-plugin-* package.
package containerdriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// DefaultNamespace is the namespace a run uses when none is given, as in the specification.
const DefaultNamespace = "humanitec-runner"

// DefaultSidecarImageRepository is where released sidecar images are published; the tag is
// the provider's version.
const DefaultSidecarImageRepository = "ghcr.io/containerdriver/containerdriver-sidecars"

// RunSpec is everything needed to run one container: the specification's inputs and
// secrets, minus the cluster connection (that is the caller's kubernetes.Interface).
type RunSpec struct {
	// RunID identifies the resource across its life (create, updates, destroy). Together with
	// the action and the spec hash it names the Job, so a retry re-attaches to it.
	RunID string

	Job        JobSpec
	Files      map[string]string // path -> content
	SecretFile map[string]string // path -> sensitive content
	Source     *SourceSpec
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
	// caller has merged them into Job.SecretVariables and SecretFile already).
	WriteOnly *WriteOnlySecrets
	// WriteOnlyFromCluster, on destroy, merges the write-only secrets kept at create into
	// Job.SecretVariables and SecretFile; a successful destroy deletes them.
	WriteOnlyFromCluster bool
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

// JobSpec is the specification's job object plus its secret variables.
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

// CredentialsConfig is the specification's credentials_config object.
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

var (
	envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// A conservative form of an OCI reference: [registry[:port]/]path[:tag][@digest].
	imageRe = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@[a-z0-9]+:[a-f0-9]{32,})?$`)
	dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// reservedEnv are names the driver sets on the runner; a variable may not replace them.
var reservedEnv = map[string]bool{
	contract.EnvAction: true, contract.EnvScriptsDirectory: true, contract.EnvResourceInputsFile: true,
	contract.EnvOutputsFile: true, contract.EnvSecretOutputsFile: true, contract.EnvErrorFile: true,
	contract.EnvRunID: true, contract.EnvStatePath: true,
	// The container deployer contract's.
	contract.EnvOperation: true, contract.EnvImportsPath: true, contract.EnvExportsPath: true, contract.EnvTargetPath: true,
	contract.EnvComponentDescriptorPath: true, contract.EnvContentPath: true, contract.EnvPodName: true, contract.EnvPodNamespace: true,
}

// FieldError is a validation error about one input, named by its path in the
// specification's terms (for example "job.pod_template" or "files[\"/etc/x\"]").
type FieldError struct {
	Field  string
	Detail string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Detail }

// ValidationErrors collects every problem of a spec at once.
type ValidationErrors []*FieldError

func (v ValidationErrors) Error() string {
	s := make([]string, len(v))
	for i, e := range v {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Validate checks everything that can be checked without a cluster. It returns
// ValidationErrors (possibly several) or nil.
func (s *RunSpec) Validate() error {
	var errs ValidationErrors
	add := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: field, Detail: fmt.Sprintf(format, a...)})
	}
	if s.RunID == "" {
		add("run_id", "must not be empty")
	}
	errs = append(errs, validateSizes(s)...)
	if err := ValidateImage(s.Job.Image); err != nil {
		add("job.image", "%v", err)
	}
	if s.SidecarImage != "" {
		if err := ValidateImage(s.SidecarImage); err != nil {
			add("sidecar_image", "%v", err)
		}
	}
	if err := ValidateSharedDirectory(s.Job.SharedDirectory); err != nil {
		add("job.shared_directory", "%v", err)
	}
	if ns := s.Job.Namespace; ns != "" && (len(ns) > 63 || !dns1123.MatchString(ns)) {
		add("job.namespace", "%q is not a valid namespace name (lower case letters, digits and '-', at most 63 characters)", ns)
	}
	if sa := s.Job.ServiceAccount; sa != "" && (len(sa) > 253 || !regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`).MatchString(sa)) {
		add("job.service_account", "%q is not a valid service account name", sa)
	}
	for _, pt := range s.Job.PodTemplates {
		if _, err := ParsePodTemplate(pt); err != nil {
			add("job.pod_template", "%v", err)
		}
	}
	for _, k := range sortedKeys(s.Job.Variables) {
		if !envNameRe.MatchString(k) {
			add(fmt.Sprintf("job.variables[%q]", k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			add(fmt.Sprintf("job.variables[%q]", k), "is set by the driver and cannot be overridden")
		}
		if _, dup := s.Job.SecretVariables[k]; dup {
			add(fmt.Sprintf("job.variables[%q]", k), "is also a secret variable; set it in one place only")
		}
	}
	for _, k := range sortedKeys(s.Job.SecretVariables) {
		if !envNameRe.MatchString(k) {
			add(fmt.Sprintf("secret_job_variables[%q]", k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			add(fmt.Sprintf("secret_job_variables[%q]", k), "is set by the driver and cannot be overridden")
		}
	}
	// A secret too short to mask cannot be kept out of the logs (redact.go).
	short := func(field, v string) {
		if n := len(v); n > 0 && n < MinSecretLen {
			add(field, "is shorter than %d characters: a value that short cannot be masked in logs without masking unrelated text, "+
				"and is guessed in no time; use a longer secret, or a non-sensitive attribute if it is not a secret", MinSecretLen)
		}
	}
	for _, k := range sortedKeys(s.Job.SecretVariables) {
		short(fmt.Sprintf("secret_job_variables[%q]", k), s.Job.SecretVariables[k])
	}
	for _, k := range sortedKeys(s.SecretFile) {
		short(fmt.Sprintf("secret_files[%q]", k), s.SecretFile[k])
	}
	if s.Source != nil {
		short("source.password", s.Source.Password)
		short("source.ssh_key", s.Source.SSHKey)
	}
	if s.Target != nil {
		short("target.content", s.Target.Content)
	}
	seen := map[string]string{}
	// check validates the paths of files (its keys), or, given one path, that path named
	// attr.<the files' only key>.
	check := func(attr string, files map[string]string, one ...string) {
		for _, p := range sortedKeys(files) {
			field := fmt.Sprintf("%s[%q]", attr, p)
			if len(one) == 1 {
				field, p = attr+"."+p, one[0]
			}
			if err := ValidateFilePath(p, s.Job.SharedDirectory); err != nil {
				add(field, "%v", err)
				continue
			}
			abs := ResolveFilePath(p, s.Job.SharedDirectory)
			if other, ok := seen[abs]; ok {
				add(field, "resolves to %s, as %s does", abs, other)
			}
			seen[abs] = field
		}
	}
	check("files", s.Files)
	check("secret_files", s.SecretFile)
	if cc := s.CredentialsConfig; cc != nil {
		// The files credentials_config makes land like secret files, and must not collide.
		// Paths that are not clean are reported by CredentialsConfig.validate.
		clean := func(p string) bool { return p != "" && !hasDotDot(p) && path.Clean(p) == p }
		if clean(cc.File) && !path.IsAbs(cc.File) {
			check("credentials_config", map[string]string{"file": ""}, cc.File)
		}
		if sv := cc.ScriptVariables; sv != nil && clean(sv.File) && sv.File != cc.File {
			check("credentials_config.script_variables", map[string]string{"file": ""}, sv.File)
		}
	}
	if s.Source != nil {
		if err := ValidateGitURL(s.Source.URL); err != nil {
			add("source.url", "%v", err)
		}
		if p := s.Source.Path; p != "" && (path.IsAbs(p) || hasDotDot(p)) {
			add("source.path", "must be relative to the repository root and must not contain '..'")
		}
		if s.Source.Password != "" && s.Source.SSHKey != "" {
			add("source.ssh_key", "set either a password (HTTPS) or an SSH key, not both")
		}
		if s.Source.SSHKey != "" && isHTTPURL(s.Source.URL) {
			add("source.ssh_key", "an SSH key needs an SSH URL (git@host:org/repo.git or ssh://...), not %q", s.Source.URL)
		}
		if s.Source.Password != "" && !isHTTPURL(s.Source.URL) {
			add("source.password", "a password needs an HTTPS URL")
		}
	}
	if s.CredentialsConfig != nil {
		errs = append(errs, s.CredentialsConfig.validate(s.Job)...)
	}
	switch s.Contract {
	case "", ContractContainerDriver, ContractContainerDeployer:
	default:
		add("contract", "%q is neither %q nor %q", s.Contract, ContractContainerDriver, ContractContainerDeployer)
	}
	if s.Contract != ContractContainerDeployer {
		if s.Target != nil {
			add("target", "is only given to runners of the %q contract", ContractContainerDeployer)
		}
		if s.ComponentDescriptor != "" || len(s.Content) > 0 {
			add("component_descriptor", "is only given to runners of the %q contract", ContractContainerDeployer)
		}
	}
	if s.State != nil {
		p := s.State.Path
		switch {
		case !path.IsAbs(p) || path.Clean(p) != p || p == "/":
			add("state_path", "%q must be a clean absolute path other than /", p)
		case p == s.Job.SharedDirectory || strings.HasPrefix(p, s.Job.SharedDirectory+"/") || strings.HasPrefix(s.Job.SharedDirectory, p+"/"):
			add("state_path", "%q must not overlap job.shared_directory", p)
		case strings.HasPrefix(p, contract.SidecarBinDir) || strings.HasPrefix(p, contract.InputsMountPath) ||
			p == contract.APIAccessMountPath || strings.HasPrefix(p, contract.APIAccessMountPath+"/") || strings.HasPrefix(contract.APIAccessMountPath, p+"/"):
			add("state_path", "%q collides with a path the driver mounts", p)
		}
	}
	if s.ComponentDescriptor != "" && !json.Valid([]byte(s.ComponentDescriptor)) {
		add("component_descriptor", "is not valid JSON")
	}
	for _, p := range sortedKeys(s.Content) {
		if path.IsAbs(p) || hasDotDot(p) || path.Clean(p) != p {
			add(fmt.Sprintf("content[%q]", p), "must be a clean relative path without '..'")
		}
	}
	if _, err := json.Marshal(s.Inputs); err != nil {
		add("inputs", "cannot be written as JSON: %v", err)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// ValidateImage reports whether ref is a usable image reference.
func ValidateImage(ref string) error {
	if ref == "" {
		return errors.New("must not be empty")
	}
	if !imageRe.MatchString(ref) {
		return fmt.Errorf("%q is not a valid image reference (expected [registry/]repository[:tag][@sha256:digest], lower case)", ref)
	}
	return nil
}

// ValidateSharedDirectory checks job.shared_directory.
func ValidateSharedDirectory(dir string) error {
	switch {
	case dir == "":
		return errors.New("must not be empty")
	case !path.IsAbs(dir):
		return fmt.Errorf("%q must be an absolute path", dir)
	case path.Clean(dir) != dir:
		return fmt.Errorf("%q is not clean; use %q", dir, path.Clean(dir))
	case dir == "/":
		return errors.New("must not be the root directory")
	case dir == contract.SidecarBinDir || strings.HasPrefix(dir, contract.SidecarBinDir+"/") ||
		dir == contract.InputsMountPath || strings.HasPrefix(contract.InputsMountPath, dir+"/") || strings.HasPrefix(dir, contract.InputsMountPath+"/"):
		return fmt.Errorf("%q collides with a path the driver mounts", dir)
	}
	return nil
}

// ValidateFilePath checks a key of files or secret files.
func ValidateFilePath(p, shared string) error {
	switch {
	case p == "":
		return errors.New("the path must not be empty")
	case strings.HasSuffix(p, "/"):
		return errors.New("the path names a directory; it must name a file")
	case hasDotDot(p) || (path.Clean(p) != p):
		if c := path.Clean(p); !hasDotDot(c) && c != "." && c != "/" {
			return fmt.Errorf("the path must be clean and must not contain '..' (use %q)", c)
		}
		return errors.New("the path must not contain '..': a file must stay inside the shared directory; name it relative to the shared directory, for example \"conf/app.json\"")
	case path.IsAbs(p) && shared != "" && p == shared:
		return errors.New("the path is the shared directory itself")
	case path.IsAbs(p) && (p == contract.InputsMountPath || strings.HasPrefix(p, contract.InputsMountPath+"/") || strings.HasPrefix(p, contract.SidecarBinDir+"/") ||
		p == contract.APIAccessMountPath || strings.HasPrefix(p, contract.APIAccessMountPath+"/")):
		return errors.New("the path collides with a path the driver mounts")
	case !path.IsAbs(p) && (p == contract.OutputsFileName || p == contract.SecretOutputsFileName || p == contract.ErrorFileName || p == contract.GitCommitFileName):
		return fmt.Errorf("%q is a contract file of the shared directory", p)
	}
	return nil
}

// ResolveFilePath is where a file lands: relative paths in the shared (scripts) directory,
// absolute paths at their own mount point.
func ResolveFilePath(p, shared string) string {
	if path.IsAbs(p) {
		return p
	}
	return path.Join(shared, p)
}

// ValidateGitURL accepts https://, http://, ssh://, git@host:path and file:// (tests) URLs.
func ValidateGitURL(u string) error {
	if hasURLCredentials(u) {
		// Not echoed: the URL holds a secret.
		return errors.New("must not hold credentials (user:password@ or token@ in an HTTPS URL, user:password@ in an SSH URL): " +
			"they would be shown in the Job spec and in errors. Use source.username and source.password (or source.ssh_key)")
	}
	switch {
	case u == "":
		return errors.New("must not be empty")
	case strings.HasPrefix(u, "https://"), strings.HasPrefix(u, "http://"), strings.HasPrefix(u, "ssh://"):
		return nil
	case regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*`).MatchString(u):
		return nil
	case regexp.MustCompile(`^[A-Za-z0-9.-]+\.[A-Za-z]+:[^/].*`).MatchString(u):
		// The specification's own example form: github.com:my-org/project.git
		return nil
	}
	return fmt.Errorf("%q is neither an HTTPS URL (https://host/org/repo.git) nor an SSH URL (git@host:org/repo.git or ssh://git@host/org/repo.git)", u)
}

// hasURLCredentials reports a user info with a password, or any user info in an HTTP(S)
// URL (a token is often given as the user name: https://TOKEN@host/...). ssh://git@host
// and git@host:path name a user only.
func hasURLCredentials(u string) bool {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return false
	}
	authority, _, _ := strings.Cut(rest, "/")
	i := strings.LastIndex(authority, "@")
	if i < 0 {
		return false
	}
	userinfo := authority[:i]
	switch strings.ToLower(scheme) {
	case "http", "https":
		return true
	}
	return strings.Contains(userinfo, ":")
}

func isHTTPURL(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}

// sortedKeys gives a map's keys in order, so what is built from a map is deterministic.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Namespace is the namespace the run uses.
func (s *RunSpec) Namespace() string {
	if s.Job.Namespace != "" {
		return s.Job.Namespace
	}
	return DefaultNamespace
}
