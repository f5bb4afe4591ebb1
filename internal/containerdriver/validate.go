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

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

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
// ValidationErrors (possibly several) or nil. Each section of the spec is checked by its
// own function, in this order (the order of the messages).
func (s *RunSpec) Validate() error {
	var errs ValidationErrors
	if s.RunID == "" {
		errs.add(Root("id"), "must not be empty")
	}
	for _, section := range []func() ValidationErrors{
		s.validateSizes,
		s.validateImages,
		s.validateJobPlacement,
		s.validateVariables,
		s.validateSecretLengths,
		s.validateFilePaths,
		s.validateSource,
		s.validateCredentialsConfig,
		s.validateContract,
		s.validateState,
		s.validateDeployerInputs,
		s.validateInputs,
	} {
		errs = append(errs, section()...)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// validateSizes checks that each input fits the one object it travels in (sizes.go).
func (s *RunSpec) validateSizes() ValidationErrors { return validateSizes(s) }

// validateImages checks job.image and runner.sidecar_image.
func (s *RunSpec) validateImages() ValidationErrors {
	var errs ValidationErrors
	if err := ValidateImage(s.Job.Image); err != nil {
		errs.add(Root("job").Attr("image"), "%v", err)
	}
	if s.SidecarImage != "" {
		if err := ValidateImage(s.SidecarImage); err != nil {
			errs.add(Root("runner").Attr("sidecar_image"), "%v", err)
		}
	}
	return errs
}

// validateJobPlacement checks where and as whom the Job runs: job.shared_directory,
// job.namespace, job.service_account and job.pod_template.
func (s *RunSpec) validateJobPlacement() ValidationErrors {
	var errs ValidationErrors
	if err := ValidateSharedDirectory(s.Job.SharedDirectory); err != nil {
		errs.add(Root("job").Attr("shared_directory"), "%v", err)
	}
	if ns := s.Job.Namespace; ns != "" {
		if why := NamespaceNameError(ns); why != "" {
			errs.add(Root("job").Attr("namespace"), "%q is not a valid namespace name: %s", ns, why)
		}
	}
	if sa := s.Job.ServiceAccount; sa != "" {
		if why := SubdomainNameError(sa); why != "" {
			errs.add(Root("job").Attr("service_account"), "%q is not a valid service account name: %s", sa, why)
		}
	}
	for _, pt := range s.Job.PodTemplates {
		if _, err := ParsePodTemplate(pt); err != nil {
			errs.add(Root("job").Attr("pod_template"), "%v", err)
		}
	}
	return errs
}

// validateVariables checks the names of job.variables and job.secret_variables.
func (s *RunSpec) validateVariables() ValidationErrors {
	var errs ValidationErrors
	for _, k := range slices.Sorted(maps.Keys(s.Job.Variables)) {
		if !envNameRe.MatchString(k) {
			errs.add(Root("job").Attr("variables").Key(k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			errs.add(Root("job").Attr("variables").Key(k), "is set by the driver and cannot be overridden")
		}
		if _, dup := s.Job.SecretVariables[k]; dup {
			errs.add(Root("job").Attr("variables").Key(k), "is also a secret variable; set it in one place only")
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Job.SecretVariables)) {
		if !envNameRe.MatchString(k) {
			errs.add(Root("job").Attr("secret_variables").Key(k), "not a valid environment variable name")
		} else if reservedEnv[k] {
			errs.add(Root("job").Attr("secret_variables").Key(k), "is set by the driver and cannot be overridden")
		}
	}
	return errs
}

// validateSecretLengths refuses a secret too short to mask: it cannot be kept out of the
// logs (redact.go).
func (s *RunSpec) validateSecretLengths() ValidationErrors {
	var errs ValidationErrors
	short := func(field Path, v string) {
		if n := len(v); n > 0 && n < MinSecretLen {
			errs.add(field, "is shorter than %d characters: a value that short cannot be masked in logs without masking unrelated text, "+
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
	return errs
}

// validateCredentialsConfig checks credentials_config (credentials.go).
func (s *RunSpec) validateCredentialsConfig() ValidationErrors {
	if s.CredentialsConfig == nil {
		return nil
	}
	return s.CredentialsConfig.validate(s.Job)
}

// validateContract checks contract, and that the container deployer's inputs (target,
// component_descriptor, content) are given only to its runners.
func (s *RunSpec) validateContract() ValidationErrors {
	var errs ValidationErrors
	switch s.Contract {
	case "", ContractContainerDriver, ContractContainerDeployer:
	default:
		errs.add(Root("contract"), "%q is neither %q nor %q", s.Contract, ContractContainerDriver, ContractContainerDeployer)
	}
	if s.Contract != ContractContainerDeployer {
		if s.Target != nil {
			errs.add(Root("target"), "is only given to runners of the %q contract", ContractContainerDeployer)
		}
		if s.ComponentDescriptor != "" || len(s.Content) > 0 {
			errs.add(Root("component_descriptor"), "is only given to runners of the %q contract", ContractContainerDeployer)
		}
	}
	return errs
}

// validateState checks state_path: a clean absolute path apart from the shared directory
// and from what the driver mounts.
func (s *RunSpec) validateState() ValidationErrors {
	var errs ValidationErrors
	if s.State == nil {
		return nil
	}
	p := s.State.Path
	switch {
	case !path.IsAbs(p) || path.Clean(p) != p || p == "/":
		errs.add(Root("state_path"), "%q must be a clean absolute path other than /", p)
	case p == s.Job.SharedDirectory || strings.HasPrefix(p, s.Job.SharedDirectory+"/") || strings.HasPrefix(s.Job.SharedDirectory, p+"/"):
		errs.add(Root("state_path"), "%q must not overlap job.shared_directory", p)
	case strings.HasPrefix(p, contract.SidecarBinDir) || strings.HasPrefix(p, contract.InputsMountPath) ||
		p == contract.APIAccessMountPath || strings.HasPrefix(p, contract.APIAccessMountPath+"/") || strings.HasPrefix(contract.APIAccessMountPath, p+"/"):
		errs.add(Root("state_path"), "%q collides with a path the driver mounts", p)
	}
	return errs
}

// validateDeployerInputs checks the container deployer's component_descriptor (JSON) and
// the paths of content.
func (s *RunSpec) validateDeployerInputs() ValidationErrors {
	var errs ValidationErrors
	if s.ComponentDescriptor != "" && !json.Valid([]byte(s.ComponentDescriptor)) {
		errs.add(Root("component_descriptor"), "is not valid JSON")
	}
	for _, p := range slices.Sorted(maps.Keys(s.Content)) {
		if path.IsAbs(p) || hasDotDot(p) || path.Clean(p) != p {
			errs.add(Root("content").Key(p), "must be a clean relative path without '..'")
		}
	}
	return errs
}

// validateInputs checks that inputs can be written to RESOURCE_INPUTS_FILE.
func (s *RunSpec) validateInputs() ValidationErrors {
	var errs ValidationErrors
	if _, err := json.Marshal(s.Inputs); err != nil {
		errs.add(Root("inputs"), "cannot be written as JSON: %v", err)
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

func hasDotDot(p string) bool {
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return true
		}
	}
	return false
}
