package provider

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// flags names how an attribute is set and shown: required or optional (computed), sensitive,
// write-only, and its validators by description.
type flags struct {
	set        string // "required", "optional", "optional computed"
	sensitive  bool
	writeOnly  bool
	validators int
}

func flagsOf(a schema.Attribute) flags {
	f := flags{set: "optional", sensitive: a.IsSensitive(), writeOnly: a.IsWriteOnly()}
	switch {
	case a.IsRequired():
		f.set = "required"
	case a.IsOptional() && a.IsComputed():
		f.set = "optional computed"
	case a.IsComputed():
		f.set = "computed"
	}
	switch a := a.(type) {
	case schema.StringAttribute:
		f.validators = len(a.Validators)
	case schema.MapAttribute:
		f.validators = len(a.Validators)
	case schema.ListAttribute:
		f.validators = len(a.Validators)
	case schema.DynamicAttribute:
		f.validators = len(a.Validators)
	case schema.BoolAttribute:
		f.validators = len(a.Validators)
	case schema.SingleNestedAttribute:
		f.validators = len(a.Validators)
	}
	return f
}

// nested is the attributes of a single nested attribute.
func nested(t *testing.T, a schema.Attribute) map[string]schema.Attribute {
	t.Helper()
	n, ok := a.(schema.SingleNestedAttribute)
	if !ok {
		t.Fatalf("%T is not a single nested attribute", a)
	}
	return n.Attributes
}

// checkFlags compares the flags of attrs with want, and that every attribute is listed.
func checkFlags(t *testing.T, block string, attrs map[string]schema.Attribute, want map[string]flags) {
	t.Helper()
	var names []string
	for name, a := range attrs {
		names = append(names, name)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s.%s: not in the test: say how it is set and shown", block, name)
			continue
		}
		if got := flagsOf(a); got != w {
			t.Errorf("%s.%s: %+v, want %+v", block, name, got, w)
		}
	}
	for name := range want {
		if !slices.Contains(names, name) {
			t.Errorf("%s.%s: not in the block", block, name)
		}
	}
}

// planErrors are the error diagnostics of a containerdriver_run configuration, as
// "path: summary: detail".
func planErrors(t *testing.T, config map[string]any) []string {
	t.Helper()
	var out []string
	for _, d := range validate(t, "containerdriver_run", config) {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			out = append(out, pathString(d.Attribute)+": "+d.Summary+": "+d.Detail)
		}
	}
	return out
}

func pathString(p *tftypes.AttributePath) string {
	if p == nil {
		return ""
	}
	var parts []string
	for _, s := range p.Steps() {
		if n, ok := s.(tftypes.AttributeName); ok {
			parts = append(parts, string(n))
		}
	}
	return strings.Join(parts, ".")
}

// hasError reports whether one of errs is on path and holds each of words.
func hasError(errs []string, path string, words ...string) bool {
	for _, e := range errs {
		if !strings.HasPrefix(e, path+": ") {
			continue
		}
		all := true
		for _, w := range words {
			all = all && strings.Contains(e, w)
		}
		if all {
			return true
		}
	}
	return false
}

var testJob = map[string]any{"image": "registry.example/runner:1.0", "service_account": "runner"}

func TestSourceBlock_Flags(t *testing.T) {
	b := sourceBlock()
	if b.IsRequired() || len(b.Validators) != 2 {
		t.Errorf("source: required %v, %d validators (want optional, with the SSH host key warning and the cleartext password check)", b.IsRequired(), len(b.Validators))
	}
	checkFlags(t, "source", b.Attributes, map[string]flags{
		"url":         {set: "required", validators: 1},
		"ref":         {set: "optional"},
		"path":        {set: "optional"},
		"username":    {set: "optional"},
		"password":    {set: "optional", sensitive: true, validators: 1},
		"password_wo": {set: "optional", sensitive: true, writeOnly: true, validators: 2},
		"ssh_key":     {set: "optional", sensitive: true, validators: 1},
		"ssh_key_wo":  {set: "optional", sensitive: true, writeOnly: true, validators: 1},
		"known_hosts": {set: "optional"},
	})
}

// TestSourceBlock_Validators: each validator of the block refuses what it is for, on the
// attribute it is about, and a plain configuration passes.
func TestSourceBlock_Validators(t *testing.T) {
	url := "https://git.example/org/repo.git"
	for _, tt := range []struct {
		name   string
		source map[string]any
		path   string
		words  []string
	}{
		{name: "password and ssh_key", source: map[string]any{"url": url, "password": "p4ssword", "ssh_key": "KEY"}, path: "source.password", words: []string{"ssh_key"}},
		{name: "password and password_wo", source: map[string]any{"url": url, "password": "p4ssword", "password_wo": "p4ssword"}, path: "source.password", words: []string{"password_wo"}},
		{name: "ssh_key and ssh_key_wo", source: map[string]any{"url": url, "ssh_key": "KEY", "ssh_key_wo": "KEY"}, path: "source.ssh_key", words: []string{"ssh_key_wo"}},
		{name: "password_wo without a version", source: map[string]any{"url": url, "password_wo": "p4ssword"}, path: "source.password_wo", words: []string{"secrets_wo_version"}},
		{name: "ssh_key_wo without a version", source: map[string]any{"url": "git@git.example:org/repo.git", "ssh_key_wo": "KEY"}, path: "source.ssh_key_wo", words: []string{"secrets_wo_version"}},
		{name: "credentials in the URL", source: map[string]any{"url": "https://user:tok3n@git.example/org/repo.git"}, path: "source.url"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			errs := planErrors(t, map[string]any{"job": testJob, "source": tt.source})
			if !hasError(errs, tt.path, tt.words...) {
				t.Errorf("no error on %s naming %q; got:\n%s", tt.path, tt.words, strings.Join(errs, "\n"))
			}
		})
	}
	if errs := planErrors(t, map[string]any{"job": testJob, "source": map[string]any{"url": url, "password": "p4ssword"}}); len(errs) != 0 {
		t.Errorf("a plain source: %q", errs)
	}
	if errs := planErrors(t, map[string]any{"job": testJob, "source": map[string]any{"ref": "refs/heads/main"}}); !hasError(errs, "source.url") && !hasError(errs, "source") {
		t.Errorf("a source without url passes: %q", errs)
	}
}
