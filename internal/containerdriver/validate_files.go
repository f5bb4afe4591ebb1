package containerdriver

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// validateFilePaths checks where each file lands (files, secret_files and the files
// credentials_config makes): not on a driver path, a contract file, a plan file of a run
// with plan support, the deployer's exports, nor another file.
func (s *RunSpec) validateFilePaths() ValidationErrors {
	var errs ValidationErrors
	seen := map[string]Path{}
	planFiles := s.PlanSupport || s.Plan != nil || s.PlanApply != nil
	// checkPath validates where the file at field (path p) lands: it must not collide with a
	// driver path or with another file.
	checkPath := func(field Path, p string) {
		if err := ValidateFilePath(p, s.Job.SharedDirectory); err != nil {
			errs.add(field, "%v", err)
			return
		}
		abs := ResolveFilePath(p, s.Job.SharedDirectory)
		if planFiles {
			if f, ok := planFileAt(abs, s.Job.SharedDirectory); ok {
				errs.add(field, "%s is where a runner with plan support %s; this run has a plan block, so name the file differently", abs, f)
				return
			}
		}
		if s.Contract == ContractContainerDeployer && abs == contract.ExportsFile(s.Job.SharedDirectory) {
			errs.add(field, "%s is where the runner writes its exports (%s); name the file differently", abs, contract.EnvExportsPath)
			return
		}
		if other, ok := seen[abs]; ok {
			errs.add(field, "resolves to %s, as %s does", abs, other)
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
	return errs
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
