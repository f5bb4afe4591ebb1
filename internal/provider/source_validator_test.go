package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// cleartextPassword's cases are in writeonly_source_test.go, sshHostKeyWarning's plan
// in run_resource_security_test.go; here the validators' diagnostics: which attribute,
// what is skipped while unknown.

func TestNoCleartextPassword_ErrorOnSourceURL(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		obj  map[string]attr.Value
		want string // "" for no error
	}{
		{name: "password over http", obj: map[string]attr.Value{"url": types.StringValue("http://git.example/r.git"), "password": types.StringValue("pw-123456")},
			want: "source.password is set"},
		{name: "write-only password over http", obj: map[string]attr.Value{"url": types.StringValue("http://git.example/r.git"), "password_wo": types.StringValue("pw-123456")},
			want: "source.password_wo is set"},
		{name: "password over https", obj: map[string]attr.Value{"url": types.StringValue("https://git.example/r.git"), "password": types.StringValue("pw-123456")}},
		{name: "unknown url", obj: map[string]attr.Value{"url": types.StringUnknown(), "password": types.StringValue("pw-123456")}},
		{name: "http without password", obj: map[string]attr.Value{"url": types.StringValue("http://git.example/r.git")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &validator.ObjectResponse{}
			noCleartextPassword{}.ValidateObject(ctx, sourceRequest(t, tc.obj), resp)
			errs := resp.Diagnostics.Errors()
			if tc.want == "" {
				if len(errs) != 0 {
					t.Fatalf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Summary() != "Password Over Plain HTTP" || !strings.Contains(errs[0].Detail(), tc.want) {
				t.Fatalf("errors %v, want one naming %q", errs, tc.want)
			}
			if strings.Contains(errs[0].Detail(), "pw-123456") {
				t.Error("the password is shown")
			}
			if wp, ok := errs[0].(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(path.Root("source").AtName("url")) {
				t.Errorf("error not on source.url: %v", errs[0])
			}
		})
	}
}

func TestSSHHostKeyWarning_OnKnownHosts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		obj  map[string]attr.Value
		warn bool
	}{
		{name: "ssh without known_hosts", obj: map[string]attr.Value{"url": types.StringValue("ssh://git@host/r.git")}, warn: true},
		{name: "known_hosts blank", obj: map[string]attr.Value{"url": types.StringValue("git@host:r.git"), "known_hosts": types.StringValue("  \n")}, warn: true},
		{name: "known_hosts unknown", obj: map[string]attr.Value{"url": types.StringValue("git@host:r.git"), "known_hosts": types.StringUnknown()}},
		{name: "url unknown", obj: map[string]attr.Value{"url": types.StringUnknown()}},
		{name: "http", obj: map[string]attr.Value{"url": types.StringValue("http://host/r.git")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &validator.ObjectResponse{}
			sshHostKeyWarning{}.ValidateObject(ctx, sourceRequest(t, tc.obj), resp)
			warnings := resp.Diagnostics.Warnings()
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			if (len(warnings) == 1) != tc.warn || len(warnings) > 1 {
				t.Fatalf("warnings %v, want %v", warnings, tc.warn)
			}
			if tc.warn {
				if wp, ok := warnings[0].(diag.DiagnosticWithPath); !ok || !wp.Path().Equal(path.Root("source").AtName("known_hosts")) {
					t.Errorf("warning not on source.known_hosts: %v", warnings[0])
				}
			}
		})
	}
}
