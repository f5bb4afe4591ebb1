package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestKeepJobWarning(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value types.Bool
		warn  bool
	}{
		{"true", types.BoolValue(true), true},
		{"false", types.BoolValue(false), false},
		{"unset", types.BoolNull(), false},
		{"unknown", types.BoolUnknown(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp validator.BoolResponse
			keepJobWarning{}.ValidateBool(context.Background(), validator.BoolRequest{Path: path.Root("keep_job"), ConfigValue: tc.value}, &resp)
			if got := resp.Diagnostics.WarningsCount() == 1; got != tc.warn {
				t.Fatalf("warning %v, want %v: %v", got, tc.warn, resp.Diagnostics)
			}
			if tc.warn {
				d := resp.Diagnostics.Warnings()[0]
				if d.Summary() != "Jobs And Secrets Stay Behind" || !strings.Contains(d.Detail(), "kubectl -n <namespace> delete") {
					t.Errorf("warning %q: %s", d.Summary(), d.Detail())
				}
			}
		})
	}
	// The schema uses it.
	s := runSchema(context.Background())
	a, ok := s.Attributes["keep_job"]
	if !ok {
		t.Fatal("no keep_job attribute")
	}
	found := false
	for _, v := range a.(interface{ BoolValidators() []validator.Bool }).BoolValidators() {
		if _, ok := v.(keepJobWarning); ok {
			found = true
		}
	}
	if !found {
		t.Error("keep_job does not warn")
	}
}
