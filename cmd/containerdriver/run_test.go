package main

import (
	"strings"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func TestRunHint(t *testing.T) {
	for _, tc := range []struct {
		e    containerdriver.RunError
		want string
	}{
		{containerdriver.RunError{Container: "runner", ErrorFile: "x"}, "in its ERROR_FILE"},
		{containerdriver.RunError{Container: "runner"}, "without writing ERROR_FILE"},
		{containerdriver.RunError{Container: "pre-checks"}, "run with --setup"},
		{containerdriver.RunError{Container: "git-init"}, "check --source, --ref"},
		{containerdriver.RunError{Reason: "Unschedulable"}, "Run again with --keep"},
		{containerdriver.RunError{Reason: "Timeout", Kept: true}, "The Job was kept (--keep)."},
	} {
		if got := runHint(&tc.e); !strings.Contains(got, tc.want) {
			t.Errorf("runHint(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}
