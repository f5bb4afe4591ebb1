package containerdriver

import (
	"encoding/json"
	"fmt"
)

// MaxObjectBytes is what one Secret or ConfigMap may hold in all: the API server refuses
// more than 1 MiB of data. A little is kept for keys and metadata.
const MaxObjectBytes = 1<<20 - 16<<10

// validateSizes refuses, before anything is created, inputs that would not fit in the one
// Secret or ConfigMap that carries them to the pod.
func validateSizes(s *RunSpec) ValidationErrors {
	var errs ValidationErrors
	check := func(field Path, what string, n int, hint string) {
		if n > MaxObjectBytes {
			errs = append(errs, &FieldError{Path: field, Detail: fmt.Sprintf(
				"holds %d bytes, more than the %d bytes %s can carry (one Kubernetes object, at most 1 MiB); %s",
				n, MaxObjectBytes, what, hint)})
		}
	}
	if b, err := json.Marshal(s.Inputs); err == nil {
		check(Root("inputs"), "the inputs file", len(b), "pass large data as files of a source repository or in the image")
	}
	total := func(m map[string]string) int {
		n := 0
		for k, v := range m {
			n += len(k) + len(v)
		}
		return n
	}
	check(Root("files"), "the run's files", total(s.Files), "ship large files in a source repository (source) or in the image")
	check(Root("secret_files"), "the run's secret files", total(s.SecretFiles), "keep large non-secret content out of secret_files")
	check(Root("job").Attr("secret_variables"), "the secret variables", total(s.Job.SecretVariables), "pass large secrets as secret_files")
	check(Root("job").Attr("variables"), "the pod's environment", total(s.Job.Variables), "pass large values as files or inputs")
	if s.Target != nil {
		check(Root("target").Attr("content"), "the target file", len(s.Target.Content), "keep the target's content small")
	}
	content := total(s.Content) + len(s.ComponentDescriptor)
	check(Root("content"), "the content blob and component descriptor", content, "ship large content in the image or a source repository")
	return errs
}
