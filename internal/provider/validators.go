package provider

import (
	"context"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// stringCheck is a plan-time validator built on one of the domain's checks, so the
// provider and the executor agree on what is valid.
type stringCheck struct {
	summary string
	desc    string
	check   func(string) error
}

var _ validator.String = stringCheck{}

func (v stringCheck) Description(context.Context) string         { return v.desc }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.desc }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		// The CLI shows the resource, not the attribute: the detail names it.
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, req.Path.String()+": "+err.Error())
	}
}

func validImage() validator.String {
	return stringCheck{summary: "Invalid Image Reference", desc: "value must be an image reference", check: containerdriver.ValidateImage}
}

func validSharedDirectory() validator.String {
	return stringCheck{summary: "Invalid Shared Directory", desc: "value must be a clean absolute path", check: containerdriver.ValidateSharedDirectory}
}

func validGitURL() validator.String {
	return stringCheck{summary: "Invalid Git URL", desc: "value must be an HTTPS or SSH git URL", check: containerdriver.ValidateGitURL}
}

func validPodTemplate() validator.String {
	return stringCheck{summary: "Invalid Pod Template", desc: "value must be a PodTemplateSpec in YAML without the fields the driver owns", check: checkPodTemplate}
}

// checkPodTemplate parses a pod template strictly and rejects the fields a user may not
// override.
func checkPodTemplate(doc string) error {
	_, err := containerdriver.ParsePodTemplate(doc)
	return err
}

// sortedKeys gives a map's keys in order, so what is built from a map is deterministic.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
