package main

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Every command path the Jobs use runs a program of this binary, and nothing else does.
func TestPrograms_AreTheContractsCommands(t *testing.T) {
	var want, got []string
	for _, c := range contract.SidecarCommands() {
		want = append(want, path.Base(c))
	}
	for n := range programs {
		got = append(got, n)
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("programs (-contract +binary):\n%s", diff)
	}
}

func TestProgram(t *testing.T) {
	for _, tt := range []struct {
		argv     []string
		name     string
		wantArgs []string
	}{
		{[]string{contract.OutputsFetcherCommand}, "outputsfetcher", []string{contract.OutputsFetcherCommand}},
		{[]string{"/opt/container-driver/inigit", "-x"}, "inigit", []string{"/opt/container-driver/inigit", "-x"}},
		{[]string{contract.SidecarBinary, "prechecks", "-v"}, "prechecks", []string{"prechecks", "-v"}},
		{[]string{contract.SidecarBinary, "-list"}, "-list", []string{"-list"}},
		{[]string{contract.SidecarBinary}, "sidecar", []string{contract.SidecarBinary}},
	} {
		name, args := program(tt.argv)
		if name != tt.name || !slices.Equal(args, tt.wantArgs) {
			t.Errorf("program(%q) = %q, %q; want %q, %q", tt.argv, name, args, tt.name, tt.wantArgs)
		}
	}
}

// sizeLimit is the target for the sidecar image: every node pulls it before its
// first run.
const sizeLimit = 30_000_000

// The binaries of the sidecar image, built as the image builders build them (static,
// stripped), stay under 30 MB together, and a link named after a program runs it.
func TestBinary_ThroughLinkAndSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the sidecar binaries")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", dir+string(filepath.Separator), ".", "../../cmd/runner-helper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var total int64
	for _, b := range []string{"sidecar", "runner-helper"} {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.1f MB", b, float64(fi.Size())/1e6)
		total += fi.Size()
	}
	if total > sizeLimit {
		t.Errorf("the sidecar image's binaries are %.1f MB, more than %d MB", float64(total)/1e6, sizeLimit/1_000_000)
	}

	link := filepath.Join(dir, path.Base(contract.PreChecksCommand))
	if err := os.Symlink("sidecar", link); err != nil {
		t.Fatal(err)
	}
	// Outside a pod pre-checks cannot load its in-cluster configuration: its own error.
	out, err := exec.Command(link).CombinedOutput()
	if err == nil || !strings.HasPrefix(string(out), "pre-checks: ") || !strings.Contains(string(out), "in-cluster") {
		t.Errorf("%s: %v\n%s", link, err, out)
	}
	// Started by a provider of another contract version, a program refuses before it does
	// anything, with the fix and ExitContractMismatch; the version it is told is its own
	// (or none, an older provider) lets it run.
	refused := exec.Command(link)
	refused.Env = append(os.Environ(), contract.EnvContractVersion+"=99")
	out, err = refused.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != contract.ExitContractMismatch || string(out) != "prechecks: "+contract.ContractMismatch("99")+"\n" {
		t.Errorf("%s told version 99: %v\n%s", link, err, out)
	}
	same := exec.Command(link)
	same.Env = append(os.Environ(), contract.EnvContractVersion+"="+contract.Version)
	if out, _ := same.CombinedOutput(); !strings.HasPrefix(string(out), "pre-checks: ") {
		t.Errorf("%s told its own version did not run: %s", link, out)
	}
	out, err = exec.Command(filepath.Join(dir, "sidecar"), "-list").Output()
	if err != nil || strings.Fields(string(out))[0] != "inigit" {
		t.Errorf("sidecar -list: %v\n%s", err, out)
	}
}

// The release image (goreleaser's Dockerfile) links every program to the binary.
func TestReleaseDockerfile_LinksEveryProgram(t *testing.T) {
	b, err := os.ReadFile("../../.goreleaser.sidecars.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for l := range strings.Lines(string(b)) {
		if strings.Contains(l, "ln -s sidecar") {
			line = l
		}
	}
	for n := range programs {
		if !slices.Contains(strings.Fields(strings.NewReplacer(";", " ").Replace(line)), n) {
			t.Errorf("the release Dockerfile does not link %s to sidecar: %q", n, line)
		}
	}
}
