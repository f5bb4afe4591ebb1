package buildinfo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrintVersion(t *testing.T) {
	var b bytes.Buffer
	if PrintVersion("x", []string{"x"}, &b) || PrintVersion("x", []string{"x", "--version", "y"}, &b) || b.Len() != 0 {
		t.Fatalf("printed without a lone --version: %q", b.String())
	}
	if !PrintVersion("outputs-fetcher", []string{"outputsfetcher", "--version"}, &b) || b.String() != "outputs-fetcher dev\n" {
		t.Fatalf("got %q", b.String())
	}
	if got := UserAgent("containerdriver-pre-checks"); got != "containerdriver-pre-checks/dev" {
		t.Fatalf("UserAgent = %q", got)
	}
}

// TestSidecarsCarryTheVersion builds the sidecar image's binaries with the release's
// ldflags (as .goreleaser.yml does) and asks every sidecar, called by its command's name
// as in the image, for its version: each answers with the name of its container (the
// multi-call binary itself with its own name).
func TestSidecarsCarryTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sidecars")
	}
	dir := t.TempDir()
	const v = "9.8.7-rc.1"
	ldflags := "-s -w -X github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo.Version=" + v
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", dir+"/",
		"../../sidecars/sidecar", "../../cmd/runner-helper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The image links each command path to the multi-call binary (sidecars/sidecar).
	for _, link := range []string{"outputsfetcher", "prechecks", "inigit", "statekeeper"} {
		if err := os.Symlink("sidecar", filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	for bin, name := range map[string]string{
		"outputsfetcher": "outputs-fetcher", "prechecks": "pre-checks", "inigit": "git-init",
		"statekeeper": "state-restore", "runner-helper": "runner-helper", "sidecar": "sidecar",
	} {
		out, err := exec.Command(filepath.Join(dir, bin), "--version").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != name+" "+v {
			t.Errorf("%s --version: %q, %v; want %q", bin, out, err, name+" "+v)
		}
	}
}
