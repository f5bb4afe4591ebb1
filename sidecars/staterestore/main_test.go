package staterestore

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube/kubetest"
)

func TestRun_RestoresSavedState(t *testing.T) {
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
	cfg := restoreConfig(t, dst, shared)
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

// restoreConfig is state-restore's configuration, from its environment, for run r1 of
// namespace ns restoring into dst, with shared as the shared directory.
func restoreConfig(t *testing.T, dst, shared string) config {
	t.Helper()
	env := map[string]string{"STATE_PATH": dst, "CONTAINERDRIVER_RUN_ID": "r1", "POD_NAMESPACE": "ns", "SCRIPTS_DIRECTORY": shared}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfigFromEnv_Missing(t *testing.T) {
	cfg, err := configFromEnv(func(k string) string { return map[string]string{"SCRIPTS_DIRECTORY": "/w"}[k] })
	if err == nil {
		t.Fatal("missing environment accepted")
	}
	// The failure still goes to the runner's error file.
	if cfg.ErrorFile != "/w/error.txt" {
		t.Errorf("ErrorFile = %q, want /w/error.txt", cfg.ErrorFile)
	}
}

// A marker that was there before state-restore ran (from the source repository git-init
// copied, for example) must not survive a failed restore: outputs-fetcher would take it as
// "restored" and save the empty directory over the kept state.
func TestRun_FailedRestoreLeavesNoMarker(t *testing.T) {
	c := fake.NewClientset()
	c.PrependReactor("*", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("denied"))
	})
	dst, shared := t.TempDir(), t.TempDir()
	marker := filepath.Join(shared, ".containerdriver-state-restored")
	if err := os.WriteFile(marker, []byte("planted\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := restoreConfig(t, dst, shared)
	if err := run(context.Background(), cfg, kubetest.Client(c)); err == nil {
		t.Fatal("a restore that cannot read the state succeeded")
	}
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the planted marker is still there after a failed restore (stat: %v)", err)
	}
}
