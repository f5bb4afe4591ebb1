package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func credsValue(s string) credentialsJSON {
	return credentialsJSON{Normalized: jsontypes.NewNormalizedValue(s)}
}

// TestCredentialsJSON_SemanticEquality: the same object reformatted (whitespace, key
// order) is no change; another object, or a text that is not one, is.
func TestCredentialsJSON_SemanticEquality(t *testing.T) {
	ctx := context.Background()
	const prior = `{"aws":{"k":"vvvv","r":"eu"}}`
	for _, tc := range []struct {
		name, next string
		equal      bool
	}{
		{"same text", prior, true},
		{"reformatted", "{\n  \"aws\": { \"r\": \"eu\",\n    \"k\": \"vvvv\" }\n}\n", true},
		{"another value", `{"aws":{"k":"wwww","r":"eu"}}`, false},
		{"an array", `[1]`, false},
		{"not JSON", `not json`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, diags := credsValue(prior).StringSemanticEquals(ctx, credsValue(tc.next))
			if diags.HasError() {
				t.Fatalf("diagnostics: %v", diags)
			}
			if got != tc.equal {
				t.Errorf("StringSemanticEquals(%q) = %v, want %v", tc.next, got, tc.equal)
			}
		})
	}
}

// TestCredentialsJSON_ValidationHoldsNoSecret: a credentials_json that is not a JSON
// object fails with the attribute and what it must hold, never the value, which
// jsontypes.Normalized's own validation prints (the reason for the type).
func TestCredentialsJSON_ValidationHoldsNoSecret(t *testing.T) {
	ctx := context.Background()
	req := xattr.ValidateAttributeRequest{Path: path.Root("credentials_json")}
	for _, tc := range []struct{ value, want string }{
		{`s3cr3t-value`, "credentials_json: a credentials string must hold a JSON object"},
		{`["s3cr3t-value"]`, "credentials_json: a credentials string must hold a JSON object"},
		{`null`, "credentials_json: a credentials string must hold a JSON object, not null"},
		{`{"aws":{"k":"s3cr3t-value"}}`, ""},
		{`{"aws":{"k":"v"}}s3cr3t-value`, "credentials_json: a credentials string must hold one JSON object and nothing after it"},
		{`{"aws":s3cr3t-value}`, "credentials_json: a credentials string must hold a JSON object: invalid JSON at byte 8"},
	} {
		var resp xattr.ValidateAttributeResponse
		credsValue(tc.value).ValidateAttribute(ctx, req, &resp)
		var detail string
		for _, d := range resp.Diagnostics {
			detail += d.Summary() + ": " + d.Detail()
		}
		switch {
		case tc.want == "" && detail != "":
			t.Errorf("%s: %s", tc.value, detail)
		case tc.want != "" && !strings.Contains(detail, tc.want):
			t.Errorf("%s: got %q, want %q", tc.value, detail, tc.want)
		case strings.Contains(detail, "s3cr3t"):
			t.Errorf("%s: the error holds the value: %s", tc.value, detail)
		}
	}
	var lib xattr.ValidateAttributeResponse
	jsontypes.NewNormalizedValue(`s3cr3t-value`).ValidateAttribute(ctx, req, &lib)
	if !lib.Diagnostics.HasError() || !strings.Contains(lib.Diagnostics[0].Detail(), "s3cr3t") {
		t.Errorf("jsontypes.Normalized no longer prints the value (%v): credentialsJSONType may use its validation", lib.Diagnostics)
	}
}

// TestCredentialsJSON_StringHidesTheValue: the framework logs a value's String() at TRACE
// around semantic equality (TestAccRun_CredentialsJSONKeptOutOfCoreLog reads that log).
func TestCredentialsJSON_StringHidesTheValue(t *testing.T) {
	if s := credsValue(`{"aws":{"k":"s3cr3t-value"}}`).String(); strings.Contains(s, "s3cr3t") {
		t.Errorf("String() = %q", s)
	}
	if s := (credentialsJSON{Normalized: jsontypes.NewNormalizedNull()}).String(); s != "<null>" {
		t.Errorf("null String() = %q", s)
	}
}

// TestCredentialsJSONType_RoundTrip: the type reads a state's plain string (what earlier
// versions wrote) and gives back a credentialsJSON.
func TestCredentialsJSONType_RoundTrip(t *testing.T) {
	ctx := context.Background()
	v, err := credentialsJSONType{}.ValueFromTerraform(ctx, tftypes.NewValue(tftypes.String, `{"a":"bbbb"}`))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := v.(credentialsJSON)
	if !ok || c.ValueString() != `{"a":"bbbb"}` || !c.Type(ctx).Equal(credentialsJSONType{}) {
		t.Errorf("got %T %v", v, v)
	}
	sv, diags := credentialsJSONType{}.ValueFromString(ctx, basetypes.NewStringNull())
	if diags.HasError() || !sv.(credentialsJSON).IsNull() {
		t.Errorf("null: %v %v", sv, diags)
	}
}
