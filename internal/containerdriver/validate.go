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

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	distreference "github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/util/validation"
)

// NamespaceNameError says why name cannot be a namespace's name (a DNS-1123 label, as the
// API server checks it), or returns "" when it can.
func NamespaceNameError(name string) string {
	return strings.Join(validation.IsDNS1123Label(name), "; ")
}

// SubdomainNameError says why name cannot be the name of a service account (or of
// another object named by a DNS-1123 subdomain, as the API server checks it: dots only
// between labels, so "a..b" is refused), or returns "" when it can.
func SubdomainNameError(name string) string {
	return strings.Join(validation.IsDNS1123Subdomain(name), "; ")
}

var (
	envNameRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	sshShortURLRe = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/].*`)
	hostPathURLRe = regexp.MustCompile(`^[A-Za-z0-9.-]+\.[A-Za-z]+:[^/].*`)
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

// Validate checks everything that can be checked without a cluster. It returns
// ValidationErrors (possibly several) or nil.
func (s *RunSpec) Validate() error {
	var errs ValidationErrors
	add := errs.add
	if s.RunID == "" {
		add(Root("id"), "must not be empty")
	}
	errs = append(errs, validateSizes(s)...)
	if err := ValidateImage(s.Job.Image); err != nil {
		add(Root("job").Attr("image"), "%v", err)
	}
	if s.SidecarImage != "" {
		if err := ValidateImage(s.SidecarImage); err != nil {
			add(Root("runner").Attr("sidecar_image"), "%v", err)
		}
	}
	if err := ValidateSharedDirectory(s.Job.SharedDirectory); err != nil {
		add(Root("job").Attr("shared_directory"), "%v", err)
	}
	if ns := s.Job.Namespace; ns != "" {
		if why := NamespaceNameError(ns); why != "" {
			add(Root("job").Attr("namespace"), "%q is not a valid namespace name: %s", ns, why)
		}
	}
	if sa := s.Job.ServiceAccount; sa != "" {
		if why := SubdomainNameError(sa); why != "" {
			add(Root("job").Attr("service_account"), "%q is not a valid service account name: %s", sa, why)
		}
	}
	for _, pt := range s.Job.PodTemplates {
		if _, err := ParsePodTemplate(pt); err != nil {
			add(Root("job").Attr("pod_template"), "%v", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Job.Variables)) {
		if !envNameRe.MatchString(k) {
			add(Root("job").Attr("variables").Key(k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			add(Root("job").Attr("variables").Key(k), "is set by the driver and cannot be overridden")
		}
		if _, dup := s.Job.SecretVariables[k]; dup {
			add(Root("job").Attr("variables").Key(k), "is also a secret variable; set it in one place only")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Job.SecretVariables)) {
		if !envNameRe.MatchString(k) {
			add(Root("job").Attr("secret_variables").Key(k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			add(Root("job").Attr("secret_variables").Key(k), "is set by the driver and cannot be overridden")
		}
	}
	// A secret too short to mask cannot be kept out of the logs (redact.go).
	short := func(field Path, v string) {
		if n := len(v); n > 0 && n < MinSecretLen {
			add(field, "is shorter than %d characters: a value that short cannot be masked in logs without masking unrelated text, "+
				"and is guessed in no time; use a longer secret, or a non-sensitive attribute if it is not a secret", MinSecretLen)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Job.SecretVariables)) {
		short(Root("job").Attr("secret_variables").Key(k), s.Job.SecretVariables[k])
	}
	for _, k := range slices.Sorted(maps.Keys(s.SecretFiles)) {
		short(Root("secret_files").Key(k), s.SecretFiles[k])
	}
	if s.Source != nil {
		short(Root("source").Attr("password"), s.Source.Password)
		short(Root("source").Attr("ssh_key"), s.Source.SSHKey)
	}
	if s.Target != nil {
		short(Root("target").Attr("content"), s.Target.Content)
	}
	seen := map[string]Path{}
	planFiles := s.PlanSupport || s.Plan != nil || s.PlanApply != nil
	// checkPath validates where the file at field (path p) lands: it must not collide with a
	// driver path or with another file.
	checkPath := func(field Path, p string) {
		if err := ValidateFilePath(p, s.Job.SharedDirectory); err != nil {
			add(field, "%v", err)
			return
		}
		abs := ResolveFilePath(p, s.Job.SharedDirectory)
		if planFiles {
			if f, ok := planFileAt(abs, s.Job.SharedDirectory); ok {
				add(field, "%s is where a runner with plan support %s; this run has a plan block, so name the file differently", abs, f)
				return
			}
		}
		if s.Contract == ContractContainerDeployer && abs == contract.ExportsFile(s.Job.SharedDirectory) {
			add(field, "%s is where the runner writes its exports (%s); name the file differently", abs, contract.EnvExportsPath)
			return
		}
		if other, ok := seen[abs]; ok {
			add(field, "resolves to %s, as %s does", abs, other)
		}
		seen[abs] = field
	}
	for _, p := range slices.Sorted(maps.Keys(s.Files)) {
		checkPath(Root("files").Key(p), p)
	}
	for _, p := range slices.Sorted(maps.Keys(s.SecretFiles)) {
		checkPath(Root("secret_files").Key(p), p)
	}
	if cc := s.CredentialsConfig; cc != nil {
		// The files credentials_config makes land like secret files, and must not collide.
		// Paths that are not clean are reported by CredentialsConfig.validate.
		clean := func(p string) bool { return p != "" && !hasDotDot(p) && path.Clean(p) == p }
		if clean(cc.File) && !path.IsAbs(cc.File) {
			checkPath(Root("credentials_config").Attr("file"), cc.File)
		}
		if sv := cc.ScriptVariables; sv != nil && clean(sv.File) && sv.File != cc.File {
			checkPath(Root("credentials_config").Attr("script_variables").Attr("file"), sv.File)
		}
	}
	if s.Source != nil {
		if err := ValidateGitURL(s.Source.URL); err != nil {
			add(Root("source").Attr("url"), "%v", err)
		}
		if p := s.Source.Path; p != "" && (path.IsAbs(p) || hasDotDot(p)) {
			add(Root("source").Attr("path"), "must be relative to the repository root and must not contain '..'")
		}
		if s.Source.Password != "" && s.Source.SSHKey != "" {
			add(Root("source").Attr("ssh_key"), "set either a password (HTTPS) or an SSH key, not both")
		}
		if s.Source.SSHKey != "" && isHTTPURL(s.Source.URL) {
			add(Root("source").Attr("ssh_key"), "an SSH key needs an SSH URL (git@host:org/repo.git or ssh://...), not %q", s.Source.URL)
		}
		if s.Source.Password != "" && !isHTTPURL(s.Source.URL) {
			add(Root("source").Attr("password"), "a password needs an HTTPS URL")
		}
	}
	if s.CredentialsConfig != nil {
		errs = append(errs, s.CredentialsConfig.validate(s.Job)...)
	}
	switch s.Contract {
	case "", ContractContainerDriver, ContractContainerDeployer:
	default:
		add(Root("contract"), "%q is neither %q nor %q", s.Contract, ContractContainerDriver, ContractContainerDeployer)
	}
	if s.Contract != ContractContainerDeployer {
		if s.Target != nil {
			add(Root("target"), "is only given to runners of the %q contract", ContractContainerDeployer)
		}
		if s.ComponentDescriptor != "" || len(s.Content) > 0 {
			add(Root("component_descriptor"), "is only given to runners of the %q contract", ContractContainerDeployer)
		}
	}
	if s.State != nil {
		p := s.State.Path
		switch {
		case !path.IsAbs(p) || path.Clean(p) != p || p == "/":
			add(Root("state_path"), "%q must be a clean absolute path other than /", p)
		case p == s.Job.SharedDirectory || strings.HasPrefix(p, s.Job.SharedDirectory+"/") || strings.HasPrefix(s.Job.SharedDirectory, p+"/"):
			add(Root("state_path"), "%q must not overlap job.shared_directory", p)
		case strings.HasPrefix(p, contract.SidecarBinDir) || strings.HasPrefix(p, contract.InputsMountPath) ||
			p == contract.APIAccessMountPath || strings.HasPrefix(p, contract.APIAccessMountPath+"/") || strings.HasPrefix(contract.APIAccessMountPath, p+"/"):
			add(Root("state_path"), "%q collides with a path the driver mounts", p)
		}
	}
	if s.ComponentDescriptor != "" && !json.Valid([]byte(s.ComponentDescriptor)) {
		add(Root("component_descriptor"), "is not valid JSON")
	}
	for _, p := range slices.Sorted(maps.Keys(s.Content)) {
		if path.IsAbs(p) || hasDotDot(p) || path.Clean(p) != p {
			add(Root("content").Key(p), "must be a clean relative path without '..'")
		}
	}
	if _, err := json.Marshal(s.Inputs); err != nil {
		add(Root("inputs"), "cannot be written as JSON: %v", err)
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
	// The grammar the container runtimes read references with (distribution/reference, as
	// containerd and the kubelet), digests checked for their algorithm's length.
	if _, err := distreference.ParseNormalizedNamed(ref); err != nil {
		return fmt.Errorf("%q is not a valid image reference (expected [registry/]repository[:tag][@sha256:digest], lower case): %w", ref, err)
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
	case isContractFile(p, shared):
		return fmt.Errorf("%q is a contract file of the shared directory", p)
	}
	return nil
}

// contractFiles are the files at the top of the shared directory that the runner and the
// driver's containers exchange.
var contractFiles = []string{contract.OutputsFileName, contract.SecretOutputsFileName, contract.ErrorFileName,
	contract.GitCommitFileName, contract.StateRestoredFileName}

// isContractFile reports whether the file path p (relative to the shared directory, or
// absolute) is one of contractFiles.
func isContractFile(p, shared string) bool {
	if path.IsAbs(p) {
		if shared == "" || path.Dir(p) != shared {
			return false
		}
		p = path.Base(p)
	}
	return slices.Contains(contractFiles, p)
}

// planFileAt says what a file at abs would take the place of in a run with plan support:
// PLAN_FILE, PLAN_SUMMARY_FILE, or PLAN_ARTIFACT_DIR (the directory or a file in it).
func planFileAt(abs, shared string) (string, bool) {
	switch dir := contract.PlanArtifactDir(shared); {
	case abs == contract.PlanFile(shared):
		return "writes its plan (" + contract.EnvPlanFile + ")", true
	case abs == contract.PlanSummaryFile(shared):
		return "writes its plan summary (" + contract.EnvPlanSummaryFile + ")", true
	case abs == dir || strings.HasPrefix(abs, dir+"/"):
		return "leaves its plan artifact (" + contract.EnvPlanArtifactDir + ", " + dir + ")", true
	}
	return "", false
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
	case sshShortURLRe.MatchString(u):
		return nil
	case hostPathURLRe.MatchString(u):
		// The form the Container Driver's examples use: github.com:my-org/project.git
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
