package outputsfetcher

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

func TestRun_savesStateEvenWhenTheRunnerFailed(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-7"
	cfg.StateRestoredFile = filepath.Join(t.TempDir(), "restored")
	write(t, cfg.StateRestoredFile, "0")
	write(t, filepath.Join(cfg.StatePath, "count"), "3")
	write(t, cfg.ErrorFile, "apply failed half way")
	client := fake.NewClientset()
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	h := harvestFrom(t, client)
	if h.StateBytes == 0 || h.StateError != "" {
		t.Fatalf("state bytes %d, error %q", h.StateBytes, h.StateError)
	}
	dst := t.TempDir()
	if _, err := (&statedir.Store{Secrets: client.CoreV1().Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: "run-7"}).RestoreDir(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "3" {
		t.Errorf("restored count = %q", b)
	}
}

// A run whose state-restore never finished (git-init failed before it) must not save
// the empty directory over the last good state (issue 9, defect 1).
func TestRun_stateNotSavedWhenRestoreDidNotFinish(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-9"
	cfg.StateRestoredFile = filepath.Join(t.TempDir(), "restored") // never written
	client := fake.NewClientset()
	store := &statedir.Store{Secrets: client.CoreV1().Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: "run-9"}
	if _, err := store.Save(context.Background(), mustArchive(t, map[string]string{"count": "2"})); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if h := harvestFrom(t, client); !bytes.Contains([]byte(h.StateError), []byte("state-restore did not finish")) {
		t.Errorf("state error = %q", h.StateError)
	}
	dst := t.TempDir()
	if _, err := store.RestoreDir(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "2" {
		t.Errorf("saved state was replaced: count = %q, want 2", b)
	}
}

func mustArchive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	for k, v := range files {
		write(t, filepath.Join(dir, k), v)
	}
	b, err := statedir.Archive(dir)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRun_stateWithASymlinkIsReported(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-8"
	cfg.StateRestoredFile = ""
	if err := os.Symlink("/etc/hosts", filepath.Join(cfg.StatePath, "hosts")); err != nil {
		t.Fatal(err)
	}
	client := fake.NewClientset()
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if h := harvestFrom(t, client); !bytes.Contains([]byte(h.StateError), []byte("hosts is a symlink")) {
		t.Errorf("state error = %q", h.StateError)
	}
}

func TestRun_deployerExportsInYAML(t *testing.T) {
	cfg := testConfig(t)
	cfg.OutputsFormat = contract.OutputsFormatJSONOrYAML
	write(t, cfg.OutputsFile, "bucket: b-1\nport: 8080\nlist:\n- a\n")
	client := fake.NewClientset()
	if err := run(context.Background(), cfg, kubetest.Client(client), sigterm(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if h := harvestFrom(t, client); string(h.Outputs) != `{"bucket":"b-1","list":["a"],"port":8080}` || len(h.Problems) > 0 {
		t.Errorf("outputs %s, problems %v", h.Outputs, h.Problems)
	}
}
