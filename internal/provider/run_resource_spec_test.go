package provider

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestRunSpec_CredentialsValue(t *testing.T) {
	obj := types.DynamicValue(types.ObjectValueMust(map[string]attr.Type{"aws": types.ObjectType{AttrTypes: map[string]attr.Type{"key": types.StringType}}},
		map[string]attr.Value{"aws": types.ObjectValueMust(map[string]attr.Type{"key": types.StringType}, map[string]attr.Value{"key": types.StringValue("k")})}))
	str := types.DynamicValue(types.StringValue(`{"aws":{"key":"k"}}`))
	want := map[string]any{"aws": map[string]any{"key": "k"}}
	for name, v := range map[string]types.Dynamic{"object": obj, "json string": str} {
		got, known, err := credentialsValue(v)
		if err != nil || !known {
			t.Fatalf("%s: %v %v", name, err, known)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
	if _, _, err := credentialsValue(types.DynamicValue(types.StringValue("not json"))); err == nil {
		t.Error("a string that is not a JSON object is an error")
	}
	if _, known, _ := credentialsValue(types.DynamicUnknown()); known {
		t.Error("unknown credentials are not known")
	}
}

// The runner's token: the run's own setting wins, else the runner's, else none.
func TestResolveRunSettings_MountToken(t *testing.T) {
	for _, c := range []struct {
		runner, job types.Bool
		hasRunner   bool
		want        bool
	}{
		{types.BoolNull(), types.BoolNull(), false, false},
		{types.BoolNull(), types.BoolValue(true), false, true},
		{types.BoolValue(true), types.BoolNull(), true, true},
		{types.BoolValue(true), types.BoolValue(false), true, false},
		{types.BoolNull(), types.BoolNull(), true, false},
	} {
		s, _ := resolveRunSettings(c.hasRunner, runnerConfigModel{MountServiceAccountToken: c.runner}, jobModel{MountServiceAccountToken: c.job}, types.BoolNull(), "")
		if s.MountToken != c.want {
			t.Errorf("runner %v (set: %v), job %v: mount = %v, want %v", c.runner, c.hasRunner, c.job, s.MountToken, c.want)
		}
	}
	if _, unknown := resolveRunSettings(false, runnerConfigModel{}, jobModel{MountServiceAccountToken: types.BoolUnknown()}, types.BoolNull(), ""); joinPaths(unknown) != "job.mount_service_account_token" {
		t.Errorf("an unknown setting is not reported unknown: %v", unknown)
	}
}
