package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ resource.ResourceWithImportState = (*runResource)(nil)

// ImportState adopts a run by NAMESPACE/RUN_ID. Only the identity is imported: the id
// and the namespace. The next apply runs ACTION=create in place with that id, so the
// runner finds what it keyed by CONTAINERDRIVER_RUN_ID (its state in the cluster, the
// state directory), and fills in the outputs.
func (r *runResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, id, err := splitImportID(req.ID, "RUN_ID")
	// A run id is the provider's UUID, or a name of the same alphabet: a DNS-1123
	// subdomain, since it names the run's Jobs and Secrets.
	if err == nil && containerdriver.SubdomainNameError(id) != "" {
		err = fmt.Errorf("the run id %q is not a run id (%s)", id, containerdriver.SubdomainNameError(id))
	}
	if err != nil {
		resp.Diagnostics.AddError("Invalid Import ID", fmt.Sprintf(
			"%v. Import a containerdriver_run as NAMESPACE/RUN_ID, for example "+
				"\"iac-runners/0b6f3c1e-5d2a-4f7e-9c1b-2a3d4e5f6a7b\": the run id is the id attribute of the run in the state it came from, "+
				"also the containerdriver.io/run-id label of its Jobs kept with keep_job (kubectl -n NAMESPACE get jobs --show-labels).", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), types.StringValue(id))...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), types.StringValue(ns))...)
	// The namespace the run's settings resolve to: without it the next plan would see the
	// namespace change and replace the run, which runs ACTION=destroy.
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("job").AtName("namespace"), types.StringValue(ns))...)
}

// splitImportID splits NAMESPACE/NAME and checks the namespace.
func splitImportID(id, second string) (string, string, error) {
	ns, name, ok := strings.Cut(id, "/")
	switch {
	case !ok || ns == "" || name == "" || strings.Contains(name, "/"):
		return "", "", fmt.Errorf("%q is not NAMESPACE/%s", id, second)
	case containerdriver.NamespaceNameError(ns) != "":
		return "", "", fmt.Errorf("%q is not a valid namespace name (%s)", ns, containerdriver.NamespaceNameError(ns))
	}
	return ns, name, nil
}
