package provider

import (
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Terraform and OpenTofu core print every dynamic attribute of a resource's state at
// DEBUG each time they read the state ("UpgradeResourceState: ignoring dynamic block"),
// sensitive or not: secret_outputs and manifests included. secret_outputs_as_json keeps
// the secret outputs in a sensitive string instead, which core does not print.

func secretOutputsJSONAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"secret_outputs_as_json": schema.BoolAttribute{
			MarkdownDescription: "Return the secret outputs in `secret_outputs_json` (a sensitive JSON string: `jsondecode(...)` it) and leave " +
				"`secret_outputs` and `manifests` null. Terraform and OpenTofu print the values of dynamic attributes such as `secret_outputs` " +
				"and `manifests` in their `TF_LOG=debug` and `trace` logs on every plan and apply after the first, sensitive or not; " +
				"they do not print `secret_outputs_json`. Set it when such logs are kept, for example in CI. Changing it runs the container again.",
			Optional: true,
		},
		// A plain string, not jsontypes.Normalized: the provider writes it (json.Marshal, one
		// form for one object), so there is no other formatting for semantic equality to accept.
		"secret_outputs_json": schema.StringAttribute{
			MarkdownDescription: "With `secret_outputs_as_json = true`: the object the runner wrote to `SECRET_OUTPUTS_FILE`, as a JSON string " +
				"(`jsondecode(containerdriver_run.x.secret_outputs_json).password`). Null otherwise. Sensitive.",
			Computed:  true,
			Sensitive: true,
		},
	}
}

// moveSecretOutputsToJSON sets secret_outputs_json from secrets and clears the dynamic
// secret_outputs and manifests, when the run asks for it; it clears secret_outputs_json
// otherwise.
func (m *runResourceModel) moveSecretOutputsToJSON(secrets map[string]any) diag.Diagnostics {
	var diags diag.Diagnostics
	if !m.SecretOutputsAsJSON.ValueBool() {
		m.SecretOutputsJSON = types.StringNull()
		return diags
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		diags.AddAttributeError(path.Root("secret_outputs_json"), "Invalid Secret Outputs", "The secret outputs cannot be represented as JSON.")
		return diags
	}
	m.SecretOutputsJSON = types.StringValue(string(b))
	m.SecretOutputs = types.DynamicNull()
	m.Manifests = types.DynamicNull()
	return diags
}
