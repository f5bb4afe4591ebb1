package outputsfetcher

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/kubernetes/fake"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statestore"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

func TestRun_savesStateEvenWhenTheRunnerFailed(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-7"
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
	if _, err := (&statestore.Store{Secrets: client.CoreV1().Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: "run-7"}).RestoreDir(context.Background(), dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "3" {
		t.Errorf("restored count = %q", b)
	}
}

func TestRun_stateWithASymlinkIsReported(t *testing.T) {
	cfg := testConfig(t)
	cfg.StatePath, cfg.RunID = t.TempDir(), "run-8"
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
