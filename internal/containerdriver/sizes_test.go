package containerdriver

import (
	"strings"
	"testing"
)

// validateSizes refuses exactly the fields over MaxObjectBytes, each by its own path and
// with what to do instead; a field at the limit passes.
func TestValidateSizes(t *testing.T) {
	over := strings.Repeat("x", MaxObjectBytes) // with its key, one byte over
	at := strings.Repeat("x", MaxObjectBytes-1) // with a one-byte key, at the limit
	for _, tc := range []struct {
		name string
		set  func(s *RunSpec, v string)
		path string
	}{
		{"files", func(s *RunSpec, v string) { s.Files = map[string]string{"f": v} }, "files"},
		{"secret_files", func(s *RunSpec, v string) { s.SecretFiles = map[string]string{"f": v} }, "secret_files"},
		{"secret variables", func(s *RunSpec, v string) { s.Job.SecretVariables = map[string]string{"V": v} }, "job.secret_variables"},
		{"variables", func(s *RunSpec, v string) { s.Job.Variables = map[string]string{"V": v} }, "job.variables"},
		{"content", func(s *RunSpec, v string) { s.Content = map[string]string{"c": v} }, "content"},
		{"component descriptor", func(s *RunSpec, v string) { s.ComponentDescriptor = v + "x" }, "content"},
		{"target", func(s *RunSpec, v string) { s.Target = &TargetSpec{Content: v + "x"} }, "target.content"},
		{"inputs", func(s *RunSpec, v string) { s.Inputs = map[string]any{"i": v} }, "inputs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := minimalSpec()
			tc.set(s, at[:len(at)-16]) // the inputs' JSON adds a few bytes
			if errs := validateSizes(s); len(errs) != 0 {
				t.Errorf("under the limit: %v", errs)
			}
			s = minimalSpec()
			tc.set(s, over)
			errs := validateSizes(s)
			if len(errs) != 1 {
				t.Fatalf("over the limit: %d errors (%v), want 1", len(errs), errs)
			}
			if got := errs[0].Path.String(); got != tc.path {
				t.Errorf("path %q, want %q", got, tc.path)
			}
			if !strings.Contains(errs[0].Detail, "more than the") || !strings.Contains(errs[0].Detail, "; ") {
				t.Errorf("detail does not say the limit and what to do: %q", errs[0].Detail)
			}
		})
	}
}
