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

func TestRun_restoresSavedState(t *testing.T) {
	c := fake.NewClientset()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "count"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := &statedir.Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "r1"}
	if _, err := st.SaveDir(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	dst, shared := t.TempDir(), t.TempDir()
	env := map[string]string{"STATE_PATH": dst, "CONTAINERDRIVER_RUN_ID": "r1", "POD_NAMESPACE": "ns", "SCRIPTS_DIRECTORY": shared}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), cfg, kubetest.Client(c)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "count")); string(b) != "1" {
		t.Errorf("restored count = %q", b)
	}
	// outputs-fetcher saves the directory again only when this marker is there.
	if _, err := os.Stat(filepath.Join(shared, ".containerdriver-state-restored")); err != nil {
		t.Errorf("restored marker: %v", err)
	}
	// A run with nothing saved starts empty, without error.
	cfg.RunID = "r2"
	if err := run(context.Background(), cfg, kubetest.Client(c)); err != nil {
		t.Fatal(err)
	}
}

func TestConfigFromEnv_missing(t *testing.T) {
	cfg, err := configFromEnv(func(k string) string { return map[string]string{"SCRIPTS_DIRECTORY": "/w"}[k] })
	if err == nil {
		t.Fatal("missing environment accepted")
	}
	// The failure still goes to the runner's error file.
	if cfg.ErrorFile != "/w/error.txt" {
		t.Errorf("ErrorFile = %q, want /w/error.txt", cfg.ErrorFile)
	}
}
