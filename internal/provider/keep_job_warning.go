package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// keepJobWarning warns at plan time that keep_job leaves every run's objects behind,
// among them Secrets that hold the run's secret inputs.
type keepJobWarning struct{}

var _ validator.Bool = keepJobWarning{}

func (keepJobWarning) Description(context.Context) string {
	return "warns that keep_job leaves Jobs and Secrets behind"
}

func (v keepJobWarning) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (keepJobWarning) ValidateBool(_ context.Context, req validator.BoolRequest, resp *validator.BoolResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || !req.ConfigValue.ValueBool() {
		return
	}
	resp.Diagnostics.AddAttributeWarning(req.Path, "Jobs And Secrets Stay Behind",
		"keep_job = true keeps every run's Job, pod, ConfigMaps and Secrets in the run's namespace, and no later run or "+
			"destroy deletes them (only force_destroy does). The Secrets hold the run's inputs, secret variables, secret files "+
			"and secret outputs. Set keep_job = false once you are done debugging, and delete what was kept with "+
			"`kubectl -n <namespace> delete jobs,secrets,configmaps -l containerdriver.io/run-id=<run id>`.")
}
