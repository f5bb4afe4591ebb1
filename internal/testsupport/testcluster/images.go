package testcluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// ImageRegistry is where the images tests build are named: containerdriver.local (a host
// with a dot, so containerd never looks it up on docker.io, and the kubelet never pulls
// it: the images are imported into the local cluster's containerd), or the registry of
// $CONTAINERDRIVER_TEST_REGISTRY, which they are pushed to for a cluster of one's own.
// Name every test image under it.
var ImageRegistry = imageRegistry()

// LocalImageRegistry names the images imported into the local cluster's containerd.
const LocalImageRegistry = "containerdriver.local"

func imageRegistry() string {
	if r := strings.TrimSuffix(os.Getenv(EnvTestRegistry), "/"); r != "" {
		return r
	}
	return LocalImageRegistry
}

// configLabel is set on imported images to the image ID, so an image that is already
// there is not imported again.
const configLabel = "containerdriver.dev/image-id"

// The sidecar image's binaries: the multi-call one (./sidecars/sidecar), which the
// contract's command paths link to, and the runner helper, a binary of its own because the
// runner templates copy it into their images.
var sidecarPackages = []string{"./sidecars/sidecar", "./cmd/runner-helper"}

// sidecarImageSpec is the sidecar image's content, from the binaries of sidecarPackages
// built into dir.
func sidecarImageSpec(dir string) imagebuild.Spec {
	spec := imagebuild.Spec{
		User: "1000:1000",
		Dirs: []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
		Files: []imagebuild.File{
			{Path: contract.SidecarBinary, Source: filepath.Join(dir, "sidecar"), Mode: 0o755},
			{Path: contract.RunnerHelperCommand, Source: filepath.Join(dir, "runner-helper"), Mode: 0o755},
		},
	}
	for _, c := range contract.SidecarCommands() {
		spec.Symlinks = append(spec.Symlinks, imagebuild.Symlink{Path: c, Target: path.Base(contract.SidecarBinary)})
	}
	return spec
}

var (
	sidecarOnce sync.Once
	sidecarRef  string
	sidecarErr  error

	runnerOnce sync.Once
	runnerRef  string
	runnerErr  error
)

// SidecarImage builds the sidecar image from this module's ./sidecars (the multi-call
// binary at /opt/container-driver/sidecar with the contract's command paths linked to it)
// and ./cmd/runner-helper, imports it into the local cluster, and returns its reference,
// containerdriver.local/sidecars:test-<content hash>. It builds once per test process;
// the same code gives the same tag, which is not imported twice.
func SidecarImage(t testing.TB) string {
	t.Helper()
	RestConfig(t) // skip (or fail) first when there is no cluster
	sidecarOnce.Do(func() { sidecarRef, sidecarErr = buildSidecarImage() })
	if sidecarErr != nil {
		t.Fatalf("sidecar image: %v", sidecarErr)
	}
	return sidecarRef
}

func buildSidecarImage() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(workDir(), "sidecars-")
	if err != nil {
		return "", err
	}
	// One go build for both: they share most dependencies.
	if err := goBuild(root, dir+string(filepath.Separator), sidecarPackages...); err != nil {
		return "", err
	}
	spec := sidecarImageSpec(dir)
	var files []string
	for _, f := range spec.Files {
		files = append(files, f.Source)
	}
	sum, err := hashFiles(files...)
	if err != nil {
		return "", err
	}
	ref := ImageRegistry + "/sidecars:test-" + sum
	return ref, buildImage(ref, spec)
}

// RunnerImage builds the project's test runner (./internal/testsupport/testrunner) into an image,
// containerdriver.local/testrunner:test-<content hash> with the program at /testrunner,
// imports it into the local cluster, and returns its reference. Once per test process.
func RunnerImage(t testing.TB) string {
	t.Helper()
	RestConfig(t)
	runnerOnce.Do(func() {
		var bin string
		if bin, runnerErr = goBinary("./internal/testsupport/testrunner"); runnerErr != nil {
			return
		}
		var sum string
		if sum, runnerErr = hashFiles(bin); runnerErr != nil {
			return
		}
		runnerRef = ImageRegistry + "/testrunner:test-" + sum
		runnerErr = buildImage(runnerRef, imagebuild.Spec{
			Files:      []imagebuild.File{{Path: "/testrunner", Source: bin, Mode: 0o755}},
			Dirs:       []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
			Entrypoint: []string{"/testrunner"},
			User:       "1000:1000",
		})
	})
	if runnerErr != nil {
		t.Fatalf("runner image: %v", runnerErr)
	}
	return runnerRef
}

// BuildImage writes the image spec describes, named ref, and imports it into the local
// cluster (see LoadImage). Pods use it with imagePullPolicy IfNotPresent or Never.
func BuildImage(t testing.TB, ref string, spec imagebuild.Spec) {
	t.Helper()
	if err := buildImage(ref, spec); err != nil {
		t.Fatalf("build image %s: %v", ref, err)
	}
}

func buildImage(ref string, spec imagebuild.Spec) error {
	spec.Ref = ref
	tar := filepath.Join(workDir(), strings.NewReplacer("/", "_", ":", "_").Replace(ref)+".tar")
	if err := imagebuild.WriteFile(tar, spec); err != nil {
		return err
	}
	defer os.Remove(tar)
	return loadImage(tar)
}

var loadMu sync.Mutex

// imports counts the images loadImage imported (not those it found already there).
var imports atomic.Int64

// LoadImage makes a docker-archive tarball's image available to the cluster's nodes: it
// pushes it with skopeo to $CONTAINERDRIVER_TEST_REGISTRY when set (its tags must be
// under ImageRegistry), else loads it with `kind load image-archive` into the kind cluster
// $CONTAINERDRIVER_KIND_CLUSTER when set, else imports it into the local cluster's
// containerd (ctr -n k8s.io images import; that one needs root). An image whose every tag
// already names the same image ID is not loaded again.
func LoadImage(t testing.TB, tarPath string) {
	t.Helper()
	if err := loadImage(tarPath); err != nil {
		t.Fatalf("load image %s: %v", tarPath, err)
	}
}

// ContainerdAddress is the socket of the local cluster's containerd.
func ContainerdAddress() string {
	if a := os.Getenv(EnvContainerdAddress); a != "" {
		return a
	}
	return filepath.Join(Dir(), "run", "containerd.sock")
}

func ctr(args ...string) ([]byte, error) {
	cmd := exec.Command("ctr", append([]string{"--address", ContainerdAddress(), "-n", "k8s.io"}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

func loadImage(tarPath string) error {
	if os.Getenv(EnvTestRegistry) != "" {
		return pushImage(tarPath)
	}
	if os.Getenv(EnvKindCluster) != "" {
		return kindLoad(tarPath)
	}
	sock := ContainerdAddress()
	if _, err := os.Stat(sock); err != nil {
		return fmt.Errorf("images are imported into the local cluster's containerd, and its socket is missing (%w): make cluster-up", err)
	}
	info, err := imagebuild.Inspect(tarPath)
	if err != nil {
		return err
	}
	if len(info.RepoTags) == 0 {
		return fmt.Errorf("%s has no image name (RepoTags)", tarPath)
	}
	loadMu.Lock()
	defer loadMu.Unlock()
	present := true
	for _, ref := range info.RepoTags {
		out, err := ctr("images", "ls", "name=="+ref)
		if err != nil {
			return err
		}
		if !bytes.Contains(out, []byte(configLabel+"="+info.ConfigDigest)) {
			present = false
			break
		}
	}
	if present {
		return nil
	}
	if _, err := ctr("images", "import", tarPath); err != nil {
		return err
	}
	imports.Add(1)
	for _, ref := range info.RepoTags {
		if _, err := ctr("images", "label", ref, configLabel+"="+info.ConfigDigest); err != nil {
			return err
		}
	}
	return nil
}

var (
	binMu sync.Mutex
	bins  = map[string]*binResult{}
)

type binResult struct {
	once sync.Once
	path string
	err  error
}

// GoBinary builds a static, stripped binary (CGO_ENABLED=0, -trimpath) of a package of this
// module, e.g. "./internal/testsupport/testrunner", once per test process, and returns its path.
func GoBinary(t testing.TB, pkg string) string {
	t.Helper()
	p, err := goBinary(pkg)
	if err != nil {
		t.Fatalf("build %s: %v", pkg, err)
	}
	return p
}

func goBinary(pkg string) (string, error) {
	binMu.Lock()
	r, ok := bins[pkg]
	if !ok {
		r = &binResult{}
		bins[pkg] = r
	}
	binMu.Unlock()
	r.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			r.err = err
			return
		}
		out := filepath.Join(workDir(), "bin", strings.NewReplacer("/", "_", ".", "_").Replace(strings.TrimPrefix(pkg, "./")))
		if r.err = goBuild(root, out, pkg); r.err == nil {
			r.path = out
		}
	})
	return r.path, r.err
}

func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if g := os.Getenv("GOROOT"); g != "" {
		return filepath.Join(g, "bin", "go")
	}
	return "/usr/local/go/bin/go"
}

func goBuild(root, out string, pkgs ...string) error {
	// -s -w: no symbol tables; a third smaller images import faster and fill the
	// node's disk slower.
	cmd := exec.Command(goCommand(), append([]string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}, pkgs...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(pkgs, " "), err, b)
	}
	return nil
}

var (
	rootOnce sync.Once
	root     string
	rootErr  error
)

// moduleRoot is the directory of this module's go.mod, found from the test's working
// directory (a package directory) with "go env GOMOD".
func moduleRoot() (string, error) {
	rootOnce.Do(func() {
		out, err := exec.Command(goCommand(), "env", "GOMOD").Output()
		if err != nil {
			rootErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			rootErr = fmt.Errorf("not inside a Go module")
			return
		}
		root = filepath.Dir(gomod)
	})
	return root, rootErr
}

var (
	workOnce sync.Once
	work     string
)

// workDir holds this test process's binaries and image tarballs. It is named after the
// process, and the directories of processes that are gone are removed, since a test
// process cannot clean up after itself at exit.
func workDir() string {
	workOnce.Do(func() {
		base := os.TempDir()
		const prefix = "containerdriver-testcluster-"
		if old, _ := filepath.Glob(filepath.Join(base, prefix+"*")); len(old) > 0 {
			for _, d := range old {
				pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(d), prefix))
				if err != nil || pid == os.Getpid() {
					continue
				}
				if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
					os.RemoveAll(d)
				}
			}
		}
		work = filepath.Join(base, fmt.Sprintf("%s%d", prefix, os.Getpid()))
		_ = os.MkdirAll(filepath.Join(work, "bin"), 0o755)
	})
	return work
}

// hashFiles is a short content hash of files, for image tags.
func hashFiles(files ...string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// loaded remembers, per tag, the image ID pushed or loaded by this process, so an image
// built twice is sent once.
var loaded = map[string]string{}

// alreadyLoaded reports whether every tag of info was sent by this process with the same
// image ID (with loadMu held).
func alreadyLoaded(info *imagebuild.Info) bool {
	for _, ref := range info.RepoTags {
		if loaded[ref] != info.ConfigDigest {
			return false
		}
	}
	return true
}

// pushImage copies the tarball's image to the registry of $CONTAINERDRIVER_TEST_REGISTRY
// with skopeo, as the user running the tests (credentials from skopeo's and Docker's
// usual files). $CONTAINERDRIVER_TEST_REGISTRY_INSECURE=1 allows plain HTTP or an
// unverified certificate (a registry on localhost).
func pushImage(tarPath string) error {
	info, err := imagebuild.Inspect(tarPath)
	if err != nil {
		return err
	}
	if len(info.RepoTags) == 0 {
		return fmt.Errorf("%s has no image name (RepoTags)", tarPath)
	}
	for _, ref := range info.RepoTags {
		if !strings.HasPrefix(ref, ImageRegistry+"/") {
			return fmt.Errorf("image %s is not under %s=%s: name test images with testcluster.ImageRegistry, so the cluster pulls them from there", ref, EnvTestRegistry, ImageRegistry)
		}
	}
	loadMu.Lock()
	defer loadMu.Unlock()
	if alreadyLoaded(info) {
		return nil
	}
	for _, ref := range info.RepoTags {
		args := []string{"copy", "--quiet"}
		if os.Getenv(EnvTestRegistryInsecure) == "1" {
			args = append(args, "--dest-tls-verify=false")
		}
		args = append(args, "docker-archive:"+tarPath, "docker://"+ref)
		if out, err := exec.Command("skopeo", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("push %s to %s (skopeo %s): %w: %s", ref, EnvTestRegistry, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		loaded[ref] = info.ConfigDigest
	}
	imports.Add(1)
	return nil
}

// kindLoad loads the tarball's image into the nodes of the kind cluster named by
// $CONTAINERDRIVER_KIND_CLUSTER (kind load image-archive).
func kindLoad(tarPath string) error {
	info, err := imagebuild.Inspect(tarPath)
	if err != nil {
		return err
	}
	loadMu.Lock()
	defer loadMu.Unlock()
	if len(info.RepoTags) > 0 && alreadyLoaded(info) {
		return nil
	}
	name := os.Getenv(EnvKindCluster)
	if out, err := exec.Command("kind", "load", "image-archive", tarPath, "--name", name).CombinedOutput(); err != nil {
		return fmt.Errorf("kind load image-archive %s --name %s: %w: %s", tarPath, name, err, strings.TrimSpace(string(out)))
	}
	for _, ref := range info.RepoTags {
		loaded[ref] = info.ConfigDigest
	}
	imports.Add(1)
	return nil
}
