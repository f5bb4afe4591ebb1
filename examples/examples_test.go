// Package examples_test checks that every Terraform example a user reads works as shown:
// the directories under examples/ and every fenced hcl/terraform block of the README, the
// doc templates (docs-templates/, rendered into docs/) and the runner templates' READMEs
// run through `terraform init` and `terraform validate` (and OpenTofu's, when it is built),
// with the provider built from this work tree and installed from a filesystem mirror.
//
// A block that cannot run alone says so right above it, in an HTML comment that renders
// as nothing: `<!-- example: fragment (REASON) -->` for a part of a larger example (it is
// still parsed), `<!-- example: not validated (REASON) -->` for one that needs what this
// test cannot install offline (another provider), `<!-- example: with files (PATH ...) -->`
// for one that reads files of the user's (created empty for the test). Every other block
// must be complete:
// declare required_providers with the provider's source, and pass validate.
package examples_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const providerSource = "containerdriver/containerdriver"

// An example found in a file: its text (a directory's examples are read from disk).
type example struct {
	name  string   // where it is: file and line, or directory
	dir   string   // an examples/ directory, run as it is
	text  string   // a fenced block, written to main.tf of a directory of its own
	skip  string   // "fragment" or "not validated"
	files []string // files the example reads, created empty
	why   string
	lines int
}

var (
	fenceOpen = regexp.MustCompile("^```(hcl|terraform|tf)\\s*$")
	marker    = regexp.MustCompile(`^<!--\s*example:\s*(fragment|not validated|with files)\s*\((.+)\)\s*-->\s*$`)
	// A required_providers block naming the provider's source.
	requiredProviders = regexp.MustCompile(`(?s)required_providers\s*\{.*source\s*=\s*"` + regexp.QuoteMeta(providerSource) + `"`)
)

// fencedBlocks returns the hcl/terraform blocks of a Markdown file (or doc template).
func fencedBlocks(t *testing.T, file string) []example {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	var out []example
	for i := 0; i < len(lines); i++ {
		if !fenceOpen.MatchString(lines[i]) {
			continue
		}
		ex := example{name: fmt.Sprintf("%s:%d", strings.TrimPrefix(file, "../"), i+1)}
		// The marker is the last non-empty line before the fence.
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if m := marker.FindStringSubmatch(strings.TrimSpace(lines[j])); m != nil {
				if m[1] == "with files" {
					ex.files = strings.Fields(m[2])
				} else {
					ex.skip, ex.why = m[1], m[2]
				}
			}
			break
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		ex.text = strings.Join(body, "\n") + "\n"
		ex.lines = len(body)
		out = append(out, ex)
	}
	return out
}

// allExamples lists what a user reads: the examples/ directories and the fenced blocks.
func allExamples(t *testing.T) []example {
	t.Helper()
	var out []example
	dirs := []string{"provider", "quickstart"}
	resources, err := filepath.Glob("resources/*")
	if err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, resources...)
	for _, d := range dirs {
		out = append(out, example{name: "examples/" + d, dir: d})
	}
	var docs []string
	for _, pattern := range []string{"../README.md", "../docs-templates/*.tmpl", "../docs-templates/*/*.tmpl", "../templates/README.md", "../templates/*/README.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, m...)
	}
	if len(docs) < 10 {
		t.Fatalf("found only %d documents with examples (%v): has the layout changed?", len(docs), docs)
	}
	for _, f := range docs {
		out = append(out, fencedBlocks(t, f)...)
	}
	return out
}

// TestExamples_blocksAreFound checks the extraction itself on a document of known shape,
// so the test below cannot pass by finding nothing.
func TestExamples_blocksAreFound(t *testing.T) {
	dir := t.TempDir()
	doc := "intro\n\n```hcl\nresource \"a\" \"b\" {}\n```\n\n<!-- example: fragment (part of the one above) -->\n```terraform\n  x = 1\n```\n\n```sh\nls\n```\n"
	f := filepath.Join(dir, "doc.md")
	if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	got := fencedBlocks(t, f)
	if len(got) != 2 {
		t.Fatalf("got %d blocks, want 2: %+v", len(got), got)
	}
	if got[0].skip != "" || got[0].text != "resource \"a\" \"b\" {}\n" {
		t.Errorf("first block: %+v", got[0])
	}
	if got[1].skip != "fragment" || got[1].why != "part of the one above" || got[1].text != "  x = 1\n" {
		t.Errorf("second block: %+v", got[1])
	}
	all := allExamples(t)
	blocks := 0
	for _, e := range all {
		if e.dir == "" {
			blocks++
		}
	}
	// The README, the guides and the templates' READMEs hold well over ten blocks today.
	if blocks < 10 {
		t.Errorf("found %d fenced examples in the docs, want at least 10", blocks)
	}
}

// tools are the CLIs the examples run with: terraform (required unless
// CONTAINERDRIVER_SKIP_EXAMPLES=1) and OpenTofu when built.
func tools(t *testing.T) map[string]string {
	t.Helper()
	if os.Getenv("CONTAINERDRIVER_SKIP_EXAMPLES") == "1" {
		t.Skip("CONTAINERDRIVER_SKIP_EXAMPLES=1")
	}
	out := map[string]string{}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" || strings.Contains(filepath.Base(tf), "tofu") {
		tf, _ = exec.LookPath("terraform")
	}
	if tf != "" {
		out["terraform"] = tf
	}
	dir := os.Getenv("CONTAINERDRIVER_CLUSTER_DIR")
	if dir == "" {
		dir = "/var/tmp/containerdriver-cluster"
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "tofu")); err == nil {
		out["tofu"] = filepath.Join(dir, "bin", "tofu")
	}
	switch {
	case len(out) == 0:
		t.Fatalf("neither terraform (on PATH) nor OpenTofu (%s/bin/tofu, make tofu) is installed: install one, or set CONTAINERDRIVER_SKIP_EXAMPLES=1 to skip the examples", dir)
	case out["terraform"] == "":
		t.Logf("WARNING: terraform is not on PATH: the examples are validated with OpenTofu alone")
		fmt.Fprintln(os.Stderr, "WARNING: terraform is not on PATH: the examples are validated with OpenTofu alone")
	}
	return out
}

// mirror builds the provider from the work tree into a filesystem mirror under both
// registries' names and returns a CLI configuration that installs it from there.
func mirror(t *testing.T) string {
	t.Helper()
	work := t.TempDir()
	bin := filepath.Join(work, "terraform-provider-containerdriver")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	for _, host := range []string{"registry.terraform.io", "registry.opentofu.org"} {
		d := filepath.Join(work, "plugins", host, providerSource, "0.0.1", platform)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(bin, filepath.Join(d, "terraform-provider-containerdriver_v0.0.1")); err != nil {
			t.Fatal(err)
		}
	}
	// No direct installation: an example that needs another provider fails init here
	// instead of reaching for the network.
	rc := filepath.Join(work, "terraform.tfrc")
	cfg := fmt.Sprintf("provider_installation {\n  filesystem_mirror {\n    path = %q\n  }\n}\n", filepath.Join(work, "plugins"))
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return rc
}

func run(t *testing.T, dir, rc string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1", "TF_DATA_DIR=", "TF_WORKSPACE=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// copyDir copies the .tf files of an examples/ directory and what they read (quickstart's
// module/), so init writes nothing into the work tree.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".terraform") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !strings.HasSuffix(p, ".tf") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExamples_workAsShown runs every complete example through init and validate with
// Terraform and OpenTofu, and checks that fragments at least parse.
func TestExamples_workAsShown(t *testing.T) {
	tl := tools(t)
	// terraform fmt and tofu fmt format alike; the first one installed checks the layout.
	fmtBin := tl["terraform"]
	if fmtBin == "" {
		fmtBin = tl["tofu"]
	}
	rc := mirror(t)
	var mu sync.Mutex
	var notValidated []string
	for _, ex := range allExamples(t) {
		t.Run(ex.name, func(t *testing.T) {
			dir := t.TempDir()
			text := ex.text
			if ex.dir != "" {
				copyDir(t, ex.dir, dir)
				var all strings.Builder
				files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
				for _, f := range files {
					b, _ := os.ReadFile(f)
					all.Write(b)
				}
				text = all.String()
			} else if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, f := range ex.files {
				p := filepath.Join(dir, filepath.FromSlash(f))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// Every block parses, fragments included (their indentation is that of the
			// larger example, so only complete ones must be formatted as terraform fmt would).
			if out, err := run(t, dir, rc, fmtBin, "fmt", "-write=false", "-list=false", "."); err != nil {
				t.Fatalf("terraform fmt: %v (a syntax error)\n%s", err, out)
			}
			if ex.skip == "" {
				if out, err := run(t, dir, rc, fmtBin, "fmt", "-check", "-diff", "."); err != nil {
					t.Errorf("terraform fmt -check: %v: not formatted as terraform fmt would\n%s", err, out)
				}
			}
			switch ex.skip {
			case "fragment":
				t.Logf("fragment, parsed only: %s", ex.why)
				return
			case "not validated":
				mu.Lock()
				notValidated = append(notValidated, ex.name+": "+ex.why)
				mu.Unlock()
				return
			}
			if !requiredProviders.MatchString(text) {
				t.Errorf("no terraform { required_providers { containerdriver = { source = %q } } }: a user copying it gets hashicorp/containerdriver", providerSource)
			}
			for _, name := range []string{"terraform", "tofu"} {
				bin, ok := tl[name]
				if !ok {
					continue
				}
				if out, err := run(t, dir, rc, bin, "init", "-backend=false", "-no-color"); err != nil {
					t.Fatalf("%s init: %v\n%s", name, err, out)
				}
				if out, err := run(t, dir, rc, bin, "validate", "-no-color"); err != nil {
					t.Errorf("%s validate: %v\n%s", name, err, out)
				}
				_ = os.RemoveAll(filepath.Join(dir, ".terraform"))
				_ = os.Remove(filepath.Join(dir, ".terraform.lock.hcl"))
			}
		})
	}
	for _, n := range notValidated {
		t.Logf("not validated: %s", n)
	}
}
