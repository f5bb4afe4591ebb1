package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// The provider's side of the write-only lifecycle (internal/writeonly): the values are
// read from the configuration (readWriteOnly, run_resource_spec.go) and never saved
// (clearWriteOnly); the executor keeps them at create and merges them back at destroy;
// the provider puts back what a failed update replaced and deletes those of a run that
// nothing records.

// writeOnlyRestorer reads the write-only secrets kept for m's run before an update
// replaces them with m's, and returns what puts them back when the update fails: the
// state then stays as it was, so its destroy must get the values of the last successful
// run, not those of the failed one (the next apply gives those again).
func (r *runResource) writeOnlyRestorer(ctx context.Context, m *runResourceModel) func() {
	noop := func() {}
	spec, exec, diags := r.plumb(ctx, m)
	if diags.HasError() || spec.WriteOnly == nil {
		return noop
	}
	store := exec.WriteOnly(spec)
	kept, err := store.Kept(ctx)
	if err != nil {
		tflog.Warn(ctx, "the write-only secrets kept for the run could not be read; a failed update cannot put them back", map[string]any{"error": err.Error()})
		return noop
	}
	return func() {
		if err := store.Restore(context.WithoutCancel(ctx), kept); err != nil {
			tflog.Warn(ctx, "the write-only secrets of the last successful run were not put back after the failed update", map[string]any{"error": err.Error()})
		}
	}
}

// forgetWriteOnly deletes the write-only secrets kept for a run nothing records: a create
// that failed before its runner started, or a failed create dropped from the state.
func (r *runResource) forgetWriteOnly(ctx context.Context, m *runResourceModel) {
	spec, exec, diags := r.plumb(ctx, m)
	if diags.HasError() {
		return
	}
	if err := exec.WriteOnly(spec).Forget(context.WithoutCancel(ctx)); err != nil {
		tflog.Warn(ctx, "the write-only secrets of an unrecorded run were not deleted", map[string]any{"error": err.Error()})
	}
}

// clearWriteOnly nulls the write-only attributes read from the configuration, before m is
// saved as the state. The framework nulls them in a response without errors only: a
// failed create that is recorded (tainted) must do it itself, or Terraform rejects the
// response ("Invalid provider response") and records nothing, and OpenTofu, which rejects
// it too, still writes the values into the state file.
func (m *runResourceModel) clearWriteOnly() {
	m.SecretVariablesWO = types.MapNull(types.StringType)
	m.SecretFilesWO = types.MapNull(types.StringType)
	m.CredentialsJSONWO = types.StringNull()
	var diags diag.Diagnostics // the attribute names are the schema's: no error
	m.Source = withObjectAttrs(m.Source, map[string]attr.Value{"password_wo": types.StringNull(), "ssh_key_wo": types.StringNull()}, &diags)
	m.Target = withObjectAttrs(m.Target, map[string]attr.Value{"content_wo": types.StringNull()}, &diags)
}
