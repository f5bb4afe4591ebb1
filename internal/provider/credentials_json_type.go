package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-jsontypes/jsontypes"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/attr/xattr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// credentialsJSONType is credentials_json's type: jsontypes.Normalized (a reformatted JSON
// text, same object, plans no change) with its own validation, because the library's
// "Invalid JSON String Value" error prints the value ("Given Value: ..."), which here is
// the secret. It checks what the run needs, a JSON object, with the message the plan gave
// before (ParseCredentialsJSON's), naming the attribute and never the value.
type credentialsJSONType struct {
	jsontypes.NormalizedType
}

var (
	_ basetypes.StringTypable                    = credentialsJSONType{}
	_ basetypes.StringValuableWithSemanticEquals = credentialsJSON{}
	_ xattr.ValidateableAttribute                = credentialsJSON{}
)

func (t credentialsJSONType) String() string { return "provider.credentialsJSONType" }

func (t credentialsJSONType) ValueType(context.Context) attr.Value { return credentialsJSON{} }

func (t credentialsJSONType) Equal(o attr.Type) bool {
	other, ok := o.(credentialsJSONType)
	return ok && t.NormalizedType.Equal(other.NormalizedType)
}

func (t credentialsJSONType) ValueFromString(_ context.Context, in basetypes.StringValue) (basetypes.StringValuable, diag.Diagnostics) {
	return credentialsJSON{Normalized: jsontypes.Normalized{StringValue: in}}, nil
}

func (t credentialsJSONType) ValueFromTerraform(ctx context.Context, in tftypes.Value) (attr.Value, error) {
	v, err := t.NormalizedType.ValueFromTerraform(ctx, in)
	if err != nil {
		return nil, err
	}
	n, ok := v.(jsontypes.Normalized)
	if !ok {
		return nil, fmt.Errorf("unexpected value type %T", v)
	}
	return credentialsJSON{Normalized: n}, nil
}

// credentialsJSON is a value of credentialsJSONType.
type credentialsJSON struct {
	jsontypes.Normalized
}

func (v credentialsJSON) Type(context.Context) attr.Type { return credentialsJSONType{} }

// String hides the value: the framework logs String() at TRACE ("tf_value_type") each
// time it checks semantic equality, which would put the secret in TF_LOG=trace logs.
func (v credentialsJSON) String() string {
	if v.IsNull() || v.IsUnknown() {
		return v.Normalized.String()
	}
	return "<sensitive JSON>"
}

func (v credentialsJSON) Equal(o attr.Value) bool {
	other, ok := o.(credentialsJSON)
	return ok && v.Normalized.Equal(other.Normalized)
}

// StringSemanticEquals is jsontypes.Normalized's. A value that is not a JSON object never
// passed validation; should one be compared all the same (a state written by hand), it is
// a change, reported without an error whose text could quote the value.
func (v credentialsJSON) StringSemanticEquals(ctx context.Context, newValuable basetypes.StringValuable) (bool, diag.Diagnostics) {
	other, ok := newValuable.(credentialsJSON)
	if !ok {
		var diags diag.Diagnostics
		diags.AddError("Semantic Equality Check Error", fmt.Sprintf("credentials_json: expected a %T, got a %T. Please report this to the provider developers.", v, newValuable))
		return false, diags
	}
	if _, err := writeonly.ParseCredentialsJSON(v.ValueString()); err != nil {
		return false, nil
	}
	if _, err := writeonly.ParseCredentialsJSON(other.ValueString()); err != nil {
		return false, nil
	}
	return v.Normalized.StringSemanticEquals(ctx, other.Normalized)
}

// ValidateAttribute replaces jsontypes.Normalized's, which prints the value.
func (v credentialsJSON) ValidateAttribute(_ context.Context, req xattr.ValidateAttributeRequest, resp *xattr.ValidateAttributeResponse) {
	if v.IsNull() || v.IsUnknown() {
		return
	}
	if _, err := writeonly.ParseCredentialsJSON(v.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Credentials", req.Path.String()+": "+err.Error())
	}
}
