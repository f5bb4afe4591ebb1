package imagebuild

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInspect(t *testing.T) {
	f := filepath.Join(t.TempDir(), "img.tar")
	spec := Spec{Ref: "containerdriver.local/x:1", Files: []File{{Path: "/a", Content: []byte("a")}}}
	if err := WriteFile(f, spec); err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(f)
	img := readImage(t, raw)
	if info.ConfigDigest != digest(img.rawConfig) || len(info.Layers) != 1 || info.RepoTags[0] != spec.Ref {
		t.Errorf("Inspect = %+v", info)
	}
}
