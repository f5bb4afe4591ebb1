package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// With secret_outputs_as_json, the secret outputs are a sensitive string and no dynamic
// attribute (which core prints at DEBUG) holds them; without it, nothing changes.
func TestRunResource_SecretOutputsAsJSON(t *testing.T) {
	res := &containerdriver.Result{
		Outputs:       map[string]any{"m": []any{"a.yaml"}},
		SecretOutputs: map[string]any{"password": "s3cr3t-value", "m": []any{"b.yaml"}},
		Manifests:     []any{"a.yaml", "b.yaml"},
	}
	var m runResourceModel
	m.SecretOutputsAsJSON = types.BoolValue(true)
	if d := m.setResult(res); d.HasError() {
		t.Fatal(d)
	}
	if got := m.SecretOutputsJSON.ValueString(); got != `{"m":["b.yaml"],"password":"s3cr3t-value"}` {
		t.Errorf("secret_outputs_json = %s", got)
	}
	if !m.SecretOutputs.IsNull() || !m.Manifests.IsNull() {
		t.Errorf("secret_outputs %v and manifests %v should be null", m.SecretOutputs, m.Manifests)
	}
	if m.Outputs.IsNull() {
		t.Error("outputs should stay")
	}

	var plain runResourceModel
	if d := plain.setResult(res); d.HasError() {
		t.Fatal(d)
	}
	if !plain.SecretOutputsJSON.IsNull() || plain.SecretOutputs.IsNull() || plain.Manifests.IsNull() {
		t.Errorf("without secret_outputs_as_json: json %v, secret_outputs %v, manifests %v", plain.SecretOutputsJSON, plain.SecretOutputs, plain.Manifests)
	}
}
