package testcluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// byoTree lays out, in a directory anyone may read, the scripts `make test` runs
// (hack/cluster) and a tiny module in place of the provider's whose one test writes down
// what it ran with: the user id, KUBECONFIG and the image settings. It returns the
// directory and the path of that record.
func byoTree(t *testing.T) (dir, record string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, err = os.MkdirTemp("", "containerdriver-byo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	files := map[string]string{
		"repo/go.mod": "module byo\n\ngo 1.21\n",
		"repo/internal/provider/record_test.go": `package provider

import (
	"fmt"
	"os"
	"testing"
)

func TestRecord(t *testing.T) {
	f, err := os.OpenFile(os.Getenv("BYO_RECORD"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "uid=%d kubeconfig=%s registry=%s kind=%s require=%s\n", os.Getuid(), os.Getenv("KUBECONFIG"),
		os.Getenv("CONTAINERDRIVER_TEST_REGISTRY"), os.Getenv("CONTAINERDRIVER_KIND_CLUSTER"), os.Getenv("CONTAINERDRIVER_REQUIRE_CLUSTER"))
}
`,
		"kubeconfig": "apiVersion: v1\nkind: Config\ncurrent-context: my-cluster\n",
		"record":     "",
	}
	for _, f := range []string{"hack/cluster/lib.sh", "hack/cluster/bootstrap.sh", "hack/cluster/test.sh", "hack/cluster/tofu.sh", "hack/cluster/setup-host.sh", "hack/cluster/go.mod", "hack/tofu/go.mod"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		files["repo/"+f] = string(b)
	}
	// OpenTofu, as tofu.sh would have built it into this user's cache directory.
	version := ""
	for _, l := range strings.Split(files["repo/hack/tofu/go.mod"], "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "github.com/opentofu/opentofu" {
			version = strings.TrimPrefix(f[1], "v")
		}
	}
	files["home/.cache/containerdriver-cluster/bin/tofu"] = "#!/bin/sh\necho '{\"terraform_version\": \"" + version + "\"}'\n"
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") || strings.HasSuffix(name, "/tofu") {
			mode = 0o755
		}
		if name == "record" {
			mode = 0o666
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	// The directories: readable by all, the home writable by the user the script runs as.
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return os.Chmod(p, 0o755)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, filepath.Join(dir, "record")
}

// byoTest runs hack/cluster/test.sh as a user other than root (nobody, when the test runs
// as root) with KUBECONFIG naming a cluster other than the local one.
func byoTest(t *testing.T, dir string, env ...string) (string, error) {
	t.Helper()
	home := filepath.Join(dir, "home")
	cmd := exec.Command("bash", filepath.Join(dir, "repo/hack/cluster/test.sh"))
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		// A build cache kept between runs (the standard library takes a minute or two
		// to compile into an empty one), the user's own.
		"GOCACHE=" + byoCache(t),
		"GOPATH=" + filepath.Join(home, "go"),
		"GOFLAGS=-mod=mod",
		"GOTOOLCHAIN=local",
		"KUBECONFIG=" + filepath.Join(dir, "kubeconfig"),
		"BYO_RECORD=" + filepath.Join(dir, "record"),
	}, env...)
	if os.Geteuid() == 0 {
		if err := os.Chown(home, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := filepath.WalkDir(home, func(p string, _ os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, 65534, 65534)
		}); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// byoCache is the non-root user's Go build cache, kept in the temporary directory.
func byoCache(t *testing.T) string {
	t.Helper()
	c := filepath.Join(os.TempDir(), "containerdriver-byo-gocache")
	if err := os.MkdirAll(c, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(c, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// make test with KUBECONFIG naming a cluster of one's own and a registry for the images
// runs without root and never reaches for the local cluster: no cluster-up, no packages
// installed, OpenTofu from the user's cache, the tests given that KUBECONFIG and registry.
func TestMakeTest_ownClusterWithoutRoot(t *testing.T) {
	if os.Getenv(EnvSkipCluster) == "" && testing.Short() {
		t.Skip("-short")
	}
	dir, record := byoTree(t)
	stub := filepath.Join(dir, "stub")
	if err := os.MkdirAll(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	// skopeo is only looked for here: the tiny module pushes nothing.
	if err := os.WriteFile(filepath.Join(stub, "skopeo"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", stub+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := byoTest(t, dir, "CONTAINERDRIVER_TEST_REGISTRY=registry.test:5000/ci")
	if err != nil {
		t.Fatalf("test.sh: %v\n%s", err, out)
	}
	for _, never := range []string{"bringing up the local cluster", "installing them as root", "building OpenTofu"} {
		if strings.Contains(out, never) {
			t.Errorf("test.sh output has %q:\n%s", never, out)
		}
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	// One pass with Terraform when installed, one with OpenTofu.
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("the tests did not run:\n%s", out)
	}
	want := "kubeconfig=" + filepath.Join(dir, "kubeconfig") + " registry=registry.test:5000/ci kind= require=1"
	for _, l := range lines {
		if strings.HasPrefix(l, "uid=0 ") {
			t.Errorf("ran as root: %s", l)
		}
		if !strings.HasSuffix(l, want) {
			t.Errorf("record %q, want it to end with %q", l, want)
		}
	}
	t.Logf("ran %d passes: %q", len(lines), lines)
}

// Without a registry or a kind cluster for the images, a cluster of one's own is refused
// before any test runs, with the variables to set.
func TestMakeTest_ownClusterNeedsImages(t *testing.T) {
	dir, record := byoTree(t)
	out, err := byoTest(t, dir, "CONTAINERDRIVER_TEST_REGISTRY=", "CONTAINERDRIVER_KIND_CLUSTER=")
	if err == nil {
		t.Fatalf("test.sh passed without a way to load the images:\n%s", out)
	}
	if !strings.Contains(out, "CONTAINERDRIVER_TEST_REGISTRY=host[:port][/path]") || !strings.Contains(out, "CONTAINERDRIVER_KIND_CLUSTER=NAME") {
		t.Errorf("the error does not name the variables:\n%s", out)
	}
	if b, _ := os.ReadFile(record); len(b) != 0 {
		t.Errorf("tests ran: %s", b)
	}
}
