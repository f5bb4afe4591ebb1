package containerdriver

import (
	"strings"
	"testing"
)

func TestResolveCredentials_MissingKeyNamesKeyNotValue(t *testing.T) {
	cc := &CredentialsConfig{Environment: map[string]string{"X": "aws.nope"}}
	_, err := cc.ResolveCredentials(map[string]any{"aws": map[string]any{"secret": "s3cr3t-value"}}, "/w")
	if err == nil || !strings.Contains(err.Error(), "aws.nope") || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("got %v", err)
	}
}
