package containerdriver

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// The executor's side of the lifecycle (internal/writeonly has its table): what a create
// keeps lands, at destroy, in the spec fields the Job reads, the caller's source and
// target stay as they were, and the values never shape the Job's name.
func TestWriteOnly_KeptForDestroy(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	e := &Executor{Client: c}
	create := minimalSpec()
	create.WriteOnly = &writeonly.Secrets{
		SecretVariables: map[string]string{"WO": "wo-value-1"}, SecretFiles: map[string]string{"f.txt": "wo-file-1"},
		SourcePassword: "wo-git-password", CredentialsJSON: `{"a":{"b":"wo-cred","n":1234567}}`, TargetContent: "wo-target-content",
	}
	if err := e.prepareWriteOnly(ctx, create); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Secrets("ns").Get(ctx, writeonly.SecretName(create.RunID), metav1.GetOptions{}); err != nil {
		t.Fatalf("the write-only secrets were not kept: %v", err)
	}

	destroy := minimalSpec()
	destroy.Job.SecretVariables = map[string]string{"OTHER": "other-value"}
	callerSource := &SourceSpec{URL: "https://h/r.git", Username: "git"}
	callerTarget := &TargetSpec{Target: map[string]any{"kind": "Target"}}
	destroy.Source, destroy.Target = callerSource, callerTarget
	destroy.WriteOnlyFromCluster = true
	if err := e.prepareWriteOnly(ctx, destroy); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"OTHER": "other-value", "WO": "wo-value-1"}, destroy.Job.SecretVariables); d != "" {
		t.Errorf("secret variables at destroy (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]string{"f.txt": "wo-file-1"}, destroy.SecretFiles); d != "" {
		t.Errorf("secret files at destroy (-want +got):\n%s", d)
	}
	if d := cmp.Diff(&SourceSpec{URL: "https://h/r.git", Username: "git", Password: "wo-git-password"}, destroy.Source); d != "" {
		t.Errorf("source at destroy (-want +got):\n%s", d)
	}
	if destroy.Target.Content != "wo-target-content" {
		t.Errorf("target content at destroy %q", destroy.Target.Content)
	}
	if d := cmp.Diff(map[string]any{"a": map[string]any{"b": "wo-cred", "n": json.Number("1234567")}}, destroy.Credentials); d != "" {
		t.Errorf("credentials at destroy (-want +got):\n%s", d)
	}
	if callerSource.Password != "" || callerTarget.Content != "" {
		t.Errorf("the caller's source %+v or target %+v changed", callerSource, callerTarget)
	}

	// Without a kept Secret, destroy goes on with what it has.
	if err := e.WriteOnly(destroy).Forget(ctx); err != nil {
		t.Fatal(err)
	}
	again := minimalSpec()
	again.WriteOnlyFromCluster = true
	if err := e.prepareWriteOnly(ctx, again); err != nil || len(again.Job.SecretVariables) != 0 {
		t.Errorf("destroy without kept secrets: %v, %v", err, again.Job.SecretVariables)
	}

	a, _ := SpecHash(create, "create")
	other := minimalSpec()
	other.WriteOnly = &writeonly.Secrets{SecretVariables: map[string]string{"WO": "wo-value-2"}}
	if b, _ := SpecHash(other, "create"); a != b {
		t.Error("the write-only values shape the spec hash")
	}
}
