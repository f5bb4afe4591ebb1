package staterestore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

// A saved state that is corrupt (a chunk's bytes replaced) fails the restore at once:
// reading it again gives the same bytes, so it is not retried until the container's
// deadline (it was, for two minutes, before the run failed), and the error says what is
// wrong rather than blaming the service account's rights.
func TestRun_CorruptStateFailsWithoutRetrying(t *testing.T) {
	c := fake.NewClientset()
	ctx := context.Background()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "count"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &statedir.Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "r1"}
	if _, err := st.SaveDir(ctx, src); err != nil {
		t.Fatal(err)
	}
	chunks, err := c.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{LabelSelector: contract.LabelRole + "=" + contract.RoleStateChunk})
	if err != nil || len(chunks.Items) == 0 {
		t.Fatalf("no state chunk saved: %v", err)
	}
	chunk := chunks.Items[0]
	for k := range chunk.Data {
		chunk.Data[k] = []byte("not the archive that was saved")
	}
	if _, err := c.CoreV1().Secrets("ns").Update(ctx, &chunk, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	dst, shared := t.TempDir(), t.TempDir()
	cfg := restoreConfig(t, dst, shared)
	// Far longer than a first attempt takes: a retry would show as "gave up after".
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	err = run(rctx, cfg, kubetest.Client(c))
	if err == nil {
		t.Fatal("a corrupt state was restored")
	}
	if strings.Contains(err.Error(), "gave up after") {
		t.Errorf("a corrupt state was retried: %v", err)
	}
	if !strings.Contains(err.Error(), "checksum") || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("the error does not say the saved state is corrupt: %v", err)
	}
	if strings.Contains(err.Error(), "service account needs") {
		t.Errorf("the error blames the service account's rights: %v", err)
	}
	if _, err := os.Stat(filepath.Join(shared, ".containerdriver-state-restored")); err == nil {
		t.Error("a failed restore left the restored marker, so outputs-fetcher would save over the state")
	}
}
