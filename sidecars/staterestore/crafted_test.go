package staterestore

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

// A saved state crafted to climb out of STATE_PATH (whoever may write the run's state
// Secrets can save one) fails state-restore, without a retry and without the restored
// marker, and writes nothing beside STATE_PATH.
func TestRun_CraftedStateStaysInStatePath(t *testing.T) {
	c := fake.NewClientset()
	ctx := context.Background()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range []*tar.Header{
		{Name: "count", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
		{Name: "../planted", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	st := &statedir.Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "r1"}
	if _, err := st.Save(ctx, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	dst, shared := filepath.Join(parent, "state"), t.TempDir()
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := restoreConfig(t, dst, shared)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err := run(rctx, cfg, kubetest.Client(c))
	if err == nil || !strings.Contains(err.Error(), "escapes the state directory") || strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("got %v, want the escaping entry refused at once", err)
	}
	if _, err := os.Stat(filepath.Join(parent, "planted")); err == nil {
		t.Error("the crafted state wrote beside STATE_PATH")
	}
	if _, err := os.Stat(filepath.Join(shared, ".containerdriver-state-restored")); err == nil {
		t.Error("a failed restore left the restored marker, so outputs-fetcher would save over the state")
	}
}
