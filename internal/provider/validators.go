package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// stringCheck is a plan-time validator built on one of the domain's checks, so the
// provider and the executor agree on what is valid.
type stringCheck struct {
	summary string
	desc    string
	check   func(string) error
	// hint, when set, says what to do; it follows the error.
	hint func(path.Path, error) string
}

var _ validator.String = stringCheck{}

func (v stringCheck) Description(context.Context) string         { return v.desc }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.desc }

func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		detail := attributeDetail(req.Path, err.Error())
		if v.hint != nil {
			detail += "\n\n" + v.hint(req.Path, err)
		}
		resp.Diagnostics.AddAttributeError(req.Path, v.summary, detail)
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
	return stringCheck{summary: "Invalid Pod Template", desc: "value must be a PodTemplateSpec in YAML without the fields the driver owns", check: checkPodTemplate, hint: podTemplateHint}
}

// checkPodTemplate parses a pod template strictly and rejects the fields a user may not
// override.
func checkPodTemplate(doc string) error {
	_, err := containerdriver.ParsePodTemplate(doc)
	return err
}
