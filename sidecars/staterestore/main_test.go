package staterestore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

func TestRestore(t *testing.T) {
	c := fake.NewClientset()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "count"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &statedir.Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "r1"}
	if _, err := st.SaveDir(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	env := map[string]string{"STATE_PATH": dst, "CONTAINERDRIVER_RUN_ID": "r1", "POD_NAMESPACE": "ns"}
	if err := run(context.Background(), func(k string) string { return env[k] }, kubetest.Client(c)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "1" {
		t.Errorf("restored count = %q", b)
	}
	// A run with nothing saved starts empty, without error.
	env["CONTAINERDRIVER_RUN_ID"] = "r2"
	if err := run(context.Background(), func(k string) string { return env[k] }, kubetest.Client(c)); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), func(string) string { return "" }, kubetest.Client(c)); err == nil {
		t.Error("missing environment accepted")
	}
}
