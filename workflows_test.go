package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// An action step pinned by commit, with its version in a comment:
// `uses: owner/repo[/path]@<40 hex> # vX.Y.Z`. Local actions and workflows (./...) need none.
var (
	usesLine       = regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	pinned         = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$`)
	versionComment = regexp.MustCompile(`^\s*#\s*v\d+(\.\d+)*\S*\s*$`)
)

// unpinned returns the uses: lines of a workflow that are not pinned by commit.
func unpinned(workflow string) []string {
	var bad []string
	for i, l := range strings.Split(workflow, "\n") {
		m := usesLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		ref := strings.Trim(m[1], `"'`)
		if strings.HasPrefix(ref, "./") {
			continue
		}
		if !pinned.MatchString(ref) || !versionComment.MatchString(m[2]) {
			bad = append(bad, strings.TrimSpace(l)+" (line "+strconv.Itoa(i+1)+")")
		}
	}
	return bad
}

func TestWorkflows_unpinnedIsFound(t *testing.T) {
	wf := `steps:
  - uses: actions/checkout@v4
  - uses: actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1
  - uses: actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e
  - uses: docker/login-action@main # v4
  - uses: ./.github/workflows/test.yml
    uses: "owner/repo/sub@3d3c42e5aac5ba805825da76410c181273ba90b1" # v1
`
	got := unpinned(wf)
	want := []string{
		"- uses: actions/checkout@v4 (line 2)",
		"- uses: actions/setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e (line 4)",
		"- uses: docker/login-action@main # v4 (line 5)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("unpinned:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every action of every workflow is pinned by commit, with its version named.
func TestWorkflows_actionsPinned(t *testing.T) {
	files, err := filepath.Glob(".github/workflows/*.y*ml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("found %v: want the release and test workflows", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range unpinned(string(b)) {
			t.Errorf("%s: not pinned by commit: %s: write owner/repo@<40-hex commit> # vX.Y.Z", f, l)
		}
	}
}

// dependabot updates the modules of every go.mod of the repository.
func TestWorkflows_dependabotCoversEveryGoMod(t *testing.T) {
	b, err := os.ReadFile(".github/dependabot.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	err = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".terraform")) {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" {
			return nil
		}
		dir := "/" + filepath.ToSlash(filepath.Dir(p))
		if dir == "/." {
			dir = "/"
		}
		if !strings.Contains(cfg, `"`+dir+`"`) {
			t.Errorf("%s: its directory %q is not in .github/dependabot.yml's gomod directories", p, dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cfg, "package-ecosystem: github-actions") {
		t.Error(".github/dependabot.yml does not update the actions")
	}
}

// make install installs the provider's binary and nothing else (not the sidecars, the
// runner author's command or the hack/ tools).
func TestMakeInstall_providerAlone(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	bin := t.TempDir()
	cmd := exec.Command("make", "-s", "install")
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(bin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != "terraform-provider-containerdriver" {
		t.Errorf("make install installed %q, want only terraform-provider-containerdriver", got)
	}
}
