package testcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// fakeTools puts skopeo, kind and ctr on PATH as scripts that append their arguments to a
// log, and returns that log's path. ctr fails: the local containerd must not be used.
func fakeTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	for _, name := range []string{"skopeo", "kind", "ctr"} {
		script := "#!/bin/sh\necho \"" + name + " $*\" >>'" + log + "'\n"
		if name == "ctr" {
			script += "exit 1\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// A containerd socket that does not exist: the local path would fail on it.
	t.Setenv(EnvContainerdAddress, filepath.Join(dir, "no-containerd.sock"))
	return log
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func testTar(t *testing.T, ref, content string) string {
	t.Helper()
	tar := filepath.Join(t.TempDir(), "image.tar")
	if err := imagebuild.WriteFile(tar, imagebuild.Spec{Ref: ref, Files: []imagebuild.File{{Path: "/x", Content: []byte(content)}}}); err != nil {
		t.Fatal(err)
	}
	return tar
}

// With CONTAINERDRIVER_TEST_REGISTRY, images are named under it and pushed with skopeo,
// once per image ID, and the local containerd is never used.
func TestLoadImage_registry(t *testing.T) {
	log := fakeTools(t)
	t.Setenv(EnvTestRegistry, "registry.test:5000/ci/")
	t.Setenv(EnvTestRegistryInsecure, "1")
	t.Setenv(EnvKindCluster, "")
	old := ImageRegistry
	ImageRegistry = imageRegistry()
	t.Cleanup(func() { ImageRegistry = old })
	if ImageRegistry != "registry.test:5000/ci" {
		t.Fatalf("ImageRegistry = %q, want registry.test:5000/ci", ImageRegistry)
	}
	ref := ImageRegistry + "/load-test:1"
	tar := testTar(t, ref, "one")
	LoadImage(t, tar)
	LoadImage(t, tar) // the same image ID: not pushed again
	want := []string{"skopeo copy --quiet --dest-tls-verify=false docker-archive:" + tar + " docker://" + ref}
	if got := calls(t, log); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Another content under the same tag is pushed.
	LoadImage(t, testTar(t, ref, "two"))
	if got := calls(t, log); len(got) != 2 || !strings.HasPrefix(got[1], "skopeo copy") {
		t.Errorf("calls after a new image: %q", got)
	}
	// An image named outside the registry would never reach the cluster: refused.
	if err := loadImage(testTar(t, LocalImageRegistry+"/elsewhere:1", "x")); err == nil || !strings.Contains(err.Error(), "testcluster.ImageRegistry") {
		t.Errorf("an image outside the registry: err = %v, want one naming testcluster.ImageRegistry", err)
	}
}

// With CONTAINERDRIVER_KIND_CLUSTER, images keep their names and go through kind load.
func TestLoadImage_kind(t *testing.T) {
	log := fakeTools(t)
	t.Setenv(EnvTestRegistry, "")
	t.Setenv(EnvKindCluster, "ci")
	ref := LocalImageRegistry + "/kind-load-test:1"
	tar := testTar(t, ref, "kind")
	LoadImage(t, tar)
	LoadImage(t, tar)
	want := []string{"kind load image-archive " + tar + " --name ci"}
	if got := calls(t, log); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
