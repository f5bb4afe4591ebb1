package containerdriver

import (
	"context"
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
