package provider

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// validateString runs a string validator on v at p and returns the error diagnostics as
// "summary|detail", or nothing.
func validateString(v validator.String, p path.Path, value types.String) (errs []string, paths []path.Path) {
	resp := &validator.StringResponse{}
	v.ValidateString(context.Background(), validator.StringRequest{Path: p, ConfigValue: value}, resp)
	for _, d := range resp.Diagnostics.Errors() {
		errs = append(errs, d.Summary()+"|"+d.Detail())
		if wp, ok := d.(interface{ Path() path.Path }); ok {
			paths = append(paths, wp.Path())
		}
	}
	return errs, paths
}

func TestStringCheck_ErrorOnTheAttributeWithHint(t *testing.T) {
	p := path.Root("job").AtName("thing")
	v := stringCheck{summary: "Invalid Thing", desc: "value must be good",
		check: func(s string) error {
			if s != "good" {
				return errors.New("is bad") // "" too: null and unknown must not reach the check
			}
			return nil
		},
		hint: func(p path.Path, err error) string { return "fix " + p.String() + " (" + err.Error() + ")" },
	}
	for _, tc := range []struct {
		name  string
		value types.String
		want  string
	}{
		{name: "valid", value: types.StringValue("good")},
		{name: "null", value: types.StringNull()},
		{name: "unknown", value: types.StringUnknown()},
		{name: "invalid", value: types.StringValue("bad"), want: "Invalid Thing|job.thing: is bad\n\nfix job.thing (is bad)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, paths := validateString(v, p, tc.value)
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0] != tc.want {
				t.Fatalf("errors %q, want %q", errs, tc.want)
			}
			if len(paths) != 1 || !paths[0].Equal(p) {
				t.Errorf("error on %v, want %s", paths, p)
			}
		})
	}
	// Without a hint the detail is the error alone.
	v.hint = nil
	if errs, _ := validateString(v, p, types.StringValue("bad")); len(errs) != 1 || errs[0] != "Invalid Thing|job.thing: is bad" {
		t.Errorf("no hint: %q", errs)
	}
	if v.Description(context.Background()) != "value must be good" || v.MarkdownDescription(context.Background()) != "value must be good" {
		t.Error("description")
	}
}

func TestDomainValidators(t *testing.T) {
	p := path.Root("job").AtName("x")
	for _, tc := range []struct {
		name    string
		v       validator.String
		value   string
		summary string // empty: valid
		detail  string
	}{
		{name: "image", v: validImage(), value: "registry.example/runner:1"},
		{name: "image with space", v: validImage(), value: "bad image", summary: "Invalid Image Reference"},
		{name: "shared directory", v: validSharedDirectory(), value: "/workspace"},
		{name: "relative shared directory", v: validSharedDirectory(), value: "workspace", summary: "Invalid Shared Directory"},
		{name: "git url", v: validGitURL(), value: "https://git.example/o/r.git"},
		{name: "git url with credentials", v: validGitURL(), value: "https://u:p@git.example/o/r.git", summary: "Invalid Git URL", detail: "must not hold credentials"},
		{name: "pod template", v: validPodTemplate(), value: "spec:\n  nodeSelector:\n    a: b\n"},
		{name: "pod template that is not YAML", v: validPodTemplate(), value: "spec: [", summary: "Invalid Pod Template", detail: "yamlencode"},
		{name: "pod template with a driver field", v: validPodTemplate(), value: "spec:\n  restartPolicy: Always\n", summary: "Invalid Pod Template", detail: "Remove these fields from job.x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, _ := validateString(tc.v, p, types.StringValue(tc.value))
			if tc.summary == "" {
				if len(errs) != 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.HasPrefix(errs[0], tc.summary+"|job.x: ") || !strings.Contains(errs[0], tc.detail) {
				t.Fatalf("errors %q, want %s naming job.x with %q", errs, tc.summary, tc.detail)
			}
			if strings.Contains(tc.name, "credentials") && strings.Contains(errs[0], "u:p@") {
				t.Errorf("the credentials are shown: %q", errs[0])
			}
		})
	}
}
