package provider

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The error of a destroy that fails names the run, its namespace and the commands that get
// it out of the state (issue 23, item 8).
func TestDestroyWayOut_NamesRunNamespaceAndCommands(t *testing.T) {
	m := &runResourceModel{
		ID:        types.StringValue("0b7e6b0c-9d3f-4f53-8f7e-3f0b8e2d1c4a"),
		Namespace: types.StringValue("team-a"),
		Outputs:   types.DynamicNull(),
	}
	got := destroyWayOut(m)
	for _, want := range []string{
		"Run 0b7e6b0c-9d3f-4f53-8f7e-3f0b8e2d1c4a in namespace team-a",
		"CONTAINERDRIVER_FORCE_DESTROY_RUNS=0b7e6b0c-9d3f-4f53-8f7e-3f0b8e2d1c4a terraform apply",
		"terraform state rm",
		"kubectl -n team-a delete jobs,secrets,configmaps -l containerdriver.io/run-id=0b7e6b0c-9d3f-4f53-8f7e-3f0b8e2d1c4a",
		"never completed a create",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the way out lacks %q:\n%s", want, got)
		}
	}
	m.Outputs = types.DynamicValue(types.StringValue("x"))
	if strings.Contains(destroyWayOut(m), "never completed a create") {
		t.Errorf("a run that was created is called a failed create")
	}
}

func TestForceDestroyRequested(t *testing.T) {
	t.Setenv(envForceDestroyRuns, "aaa, bbb,ccc")
	for id, want := range map[string]bool{"aaa": true, "bbb": true, "ccc": true, "aa": false, "": false, "ddd": false} {
		if got := forceDestroyRequested(id); got != want {
			t.Errorf("%q: %v, want %v", id, got, want)
		}
	}
}
