package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ resource.ResourceWithImportState = (*runnerResource)(nil)

// ImportState adopts a runner by NAMESPACE/SERVICE_ACCOUNT, its id. Only these two are
// imported; the next plan sets the other attributes from the configuration, and creates
// (or adopts) what create_namespace and create_service_account ask for.
func (r *runnerResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, sa, err := splitImportID(req.ID, "SERVICE_ACCOUNT")
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf(
			"%v. Import a containerdriver_runner as NAMESPACE/SERVICE_ACCOUNT, for example \"iac-runners/iac-runner\".", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), types.StringValue(req.ID))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), types.StringValue(ns))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("service_account"), types.StringValue(sa))...)
}
