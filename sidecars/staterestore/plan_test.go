package staterestore

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"os"
	"path/filepath"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
)

// The handed artifact is reassembled from its mounted chunks, checked and extracted; a
// wrong digest or a directory already there is refused.
func TestPreparePlanArtifact(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "plan.bin"), []byte("the plan"), 0o600); err != nil {
		t.Fatal(err)
	}
	archive, err := statedir.Archive(src)
	if err != nil {
		t.Fatal(err)
	}
	mounts := t.TempDir()
	half := len(archive) / 2
	for i, part := range [][]byte{archive[:half], archive[half:]} {
		d := filepath.Join(mounts, string(rune('0'+i)))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "artifact"), part, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256(archive)
	logger := log.New(io.Discard, "", 0)
	dir := filepath.Join(t.TempDir(), ".containerdriver-plan")
	if err := preparePlanArtifact(&planConfig{ArtifactDir: dir, Source: mounts, SHA256: hex.EncodeToString(sum[:])}, logger); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "plan.bin")); string(b) != "the plan" {
		t.Errorf("artifact = %q", b)
	}
	if err := preparePlanArtifact(&planConfig{ArtifactDir: dir}, logger); err == nil {
		t.Error("a directory already there was accepted")
	}
	other := filepath.Join(t.TempDir(), "p")
	if err := preparePlanArtifact(&planConfig{ArtifactDir: other, Source: mounts, SHA256: "00"}, logger); err == nil {
		t.Error("a wrong digest was accepted")
	}
	empty := filepath.Join(t.TempDir(), "p")
	if err := preparePlanArtifact(&planConfig{ArtifactDir: empty}, logger); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(empty); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("empty artifact dir: %v %v", st, err)
	}
}
