package containerdriver

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What an update keeps replaces the last successful run's write-only secrets; putting
// back what was kept before restores them, or removes the Secret if there was none.
func TestWriteOnly_RestoreAfterAFailedUpdate(t *testing.T) {
	ctx := context.Background()
	c := fakeCluster()
	e := &Executor{Client: c}
	spec := minimalSpec()
	if kept, err := e.KeptWriteOnly(ctx, spec); err != nil || kept != nil {
		t.Fatalf("before any run: kept %v, %v", kept, err)
	}
	first := &WriteOnlySecrets{SecretVariables: map[string]string{"WO": "wo-value-1"}}
	spec.WriteOnly = first
	if err := e.prepareWriteOnly(ctx, spec); err != nil {
		t.Fatal(err)
	}
	before, err := e.KeptWriteOnly(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	update := minimalSpec()
	update.WriteOnly = &WriteOnlySecrets{SecretVariables: map[string]string{"WO": "wo-value-2"}}
	if err := e.prepareWriteOnly(ctx, update); err != nil {
		t.Fatal(err)
	}
	if now, _ := e.KeptWriteOnly(ctx, update); now.SecretVariables["WO"] != "wo-value-2" {
		t.Fatalf("the update did not keep its values: %v", now)
	}
	if err := e.RestoreWriteOnly(ctx, update, before); err != nil {
		t.Fatal(err)
	}
	now, err := e.KeptWriteOnly(ctx, update)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(first, now); d != "" {
		t.Errorf("kept after the restore (-want +got):\n%s", d)
	}
	// Nothing kept before: the restore removes what the failed run kept.
	if err := e.RestoreWriteOnly(ctx, update, nil); err != nil {
		t.Fatal(err)
	}
	l, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Errorf("%d Secrets left after restoring none", len(l.Items))
	}
}
