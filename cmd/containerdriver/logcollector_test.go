package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

func TestLogCollector_Leaks(t *testing.T) {
	l := newLogCollector()
	l.addSecretVariables(map[string]string{"API_TOKEN": "tok-123456789", "SHORT": "abc"})
	l.addLog("create #1", "starting\nAPI_TOKEN=tok-123456789\n")
	// Terraform's own placeholder for a sensitive output is not a leak.
	l.addLog("create #1", "  + password = (sensitive value)\nshort abc")
	l.addLog("create #2", "the password is pw-0a1b2c3d\n")
	l.addSecrets(map[string]any{"password": "pw-0a1b2c3d", "flag": "true", "nested": []any{map[string]any{"k": "deep-secret"}}})
	want := []string{
		"[create #1] API_TOKEN=" + containerdriver.MaskedText,
		"[create #2] the password is " + containerdriver.MaskedText,
	}
	if diff := cmp.Diff(want, l.leaks()); diff != "" {
		t.Errorf("leaks (-want +got):\n%s", diff)
	}
	if got := l.mask("x deep-secret y"); got != "x "+containerdriver.MaskedText+" y" {
		t.Errorf("mask = %q", got)
	}
	if l.count() != 5 {
		t.Errorf("count = %d, want 5 lines", l.count())
	}
}
