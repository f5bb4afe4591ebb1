package containerdriver

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Write-only secrets given at create are kept in one Secret, merged back at destroy and
// deleted after it; they never shape the Job's name.
func TestWriteOnly_KeptForDestroy(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	e := &Executor{Client: c}
	create := minimalSpec()
	create.WriteOnly = &WriteOnlySecrets{SecretVariables: map[string]string{"WO": "wo-value-1"}, SecretFiles: map[string]string{"f.txt": "wo-file-1"}}
	if err := e.prepareWriteOnly(ctx, create); err != nil {
		t.Fatal(err)
	}
	s, err := c.CoreV1().Secrets("ns").Get(ctx, WriteOnlySecretName(create.RunID), metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the write-only secrets were not kept: %v", err)
	}
	if s.Labels["containerdriver.io/role"] != "write-only-secrets" || s.Labels["containerdriver.io/run-id"] != create.RunID {
		t.Errorf("labels %v", s.Labels)
	}

	destroy := minimalSpec()
	destroy.Job.SecretVariables = map[string]string{"OTHER": "other-value"}
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
	if err := e.forgetWriteOnly(ctx, destroy); err != nil {
		t.Fatal(err)
	}
	l, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Errorf("%d Secrets left after destroy", len(l.Items))
	}
	// Without a kept Secret, destroy goes on with what it has.
	again := minimalSpec()
	again.WriteOnlyFromCluster = true
	if err := e.prepareWriteOnly(ctx, again); err != nil || len(again.Job.SecretVariables) != 0 {
		t.Errorf("destroy without kept secrets: %v, %v", err, again.Job.SecretVariables)
	}

	a, _ := SpecHash(create, "create")
	other := minimalSpec()
	other.WriteOnly = &WriteOnlySecrets{SecretVariables: map[string]string{"WO": "wo-value-2"}}
	if b, _ := SpecHash(other, "create"); a != b {
		t.Error("the write-only values shape the spec hash")
	}
}

// The write-only source credentials, credentials and target content are kept like the
// write-only variables and files, and put back at destroy where the state has none.
func TestWriteOnly_SingleSecretsKeptForDestroy(t *testing.T) {
	ctx := context.Background()
	e := &Executor{Client: fakeCluster()}
	create := minimalSpec()
	create.WriteOnly = &WriteOnlySecrets{SourcePassword: "wo-git-password", CredentialsJSON: `{"a":{"b":"wo-cred","n":1234567}}`, TargetContent: "wo-target-content"}
	if err := e.prepareWriteOnly(ctx, create); err != nil {
		t.Fatal(err)
	}
	destroy := minimalSpec()
	destroy.Source = &SourceSpec{URL: "https://h/r.git", Username: "git"}
	destroy.Target = &TargetSpec{Target: map[string]any{"kind": "Target"}}
	destroy.WriteOnlyFromCluster = true
	if err := e.prepareWriteOnly(ctx, destroy); err != nil {
		t.Fatal(err)
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

	sshCreate := minimalSpec()
	sshCreate.RunID = "run-ssh"
	sshCreate.WriteOnly = &WriteOnlySecrets{SourceSSHKey: "-----BEGIN KEY-----\nwo\n-----END KEY-----\n"}
	if err := e.prepareWriteOnly(ctx, sshCreate); err != nil {
		t.Fatal(err)
	}
	sshDestroy := minimalSpec()
	sshDestroy.RunID = "run-ssh"
	sshDestroy.Source = &SourceSpec{URL: "git@h:r.git"}
	sshDestroy.WriteOnlyFromCluster = true
	if err := e.prepareWriteOnly(ctx, sshDestroy); err != nil {
		t.Fatal(err)
	}
	if sshDestroy.Source.SSHKey != sshCreate.WriteOnly.SourceSSHKey || sshDestroy.Source.Password != "" {
		t.Errorf("source at destroy %+v", sshDestroy.Source)
	}
}
