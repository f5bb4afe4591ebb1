// Package bench is `make bench`: what a containerdriver_run costs next to what a user
// could do instead, measured from the outside on the local cluster with real Terraform
// (OpenTofu when Terraform is not installed) and the provider built from this work tree.
// hack/bench/bench.sh runs TestBench and regenerates the docs from the page it writes.
package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// The environment of make bench.
const (
	envBench       = "CONTAINERDRIVER_BENCH"
	envRounds      = "BENCH_ROUNDS"                 // rounds of the single-run rows (default 5)
	envScaleRounds = "BENCH_SCALE_ROUNDS"           // rounds of the 10 and 50 rows (default 1)
	envScales      = "BENCH_SCALES"                 // the many-runs sizes (default "10 50 200")
	envPlanRuns    = "BENCH_PLAN_RUNS"              // runs of the many-previews plan row (default 20)
	envParallelAt  = "BENCH_DEFAULT_PARALLELISM_AT" // the sizes also run with Terraform's default parallelism (default "50 200")
	envControlAt   = "BENCH_CONTROL_AT"             // the sizes of the control row, bare pods with a sidecar (default "50 200")
	envPage        = "BENCH_PAGE"                   // the page written (default the docs template)
	envTF          = "BENCH_TF"                     // the CLI (default terraform, else OpenTofu)
	envCommand     = "BENCH_COMMAND"                // the command line quoted on the page
	envRender      = "BENCH_RENDER"                 // 1: write the page from results.json, measure nothing
	envResults     = "BENCH_RESULTS"                // the results file (default hack/bench/results.json)
	envBefore      = "BENCH_BEFORE"                 // results of the code before, shown next to these
	envBeforeLabel = "BENCH_BEFORE_LABEL"           // what the code before was, e.g. "main at abc123"
	countRequests  = "CONTAINERDRIVER_COUNT_REQUESTS"
)

// TestBench runs the rounds and writes the page. It is skipped unless make bench runs it.
func TestBench(t *testing.T) {
	if os.Getenv(envBench) == "" {
		t.Skip("make bench runs this (" + envBench + "=1)")
	}
	root := moduleRoot(t)
	// Relative paths are the module root's (make bench runs from there; go test from here).
	inRoot := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	resultsFile := inRoot(envOr(envResults, "hack/bench/results.json"))
	page := inRoot(envOr(envPage, "docs-templates/guides/performance.md.tmpl"))
	before := os.Getenv(envBefore)
	if before != "" {
		before = inRoot(before)
	}
	if os.Getenv(envRender) == "1" {
		var r results
		raw, err := os.ReadFile(resultsFile)
		if err == nil {
			err = json.Unmarshal(raw, &r)
		}
		if err != nil {
			t.Fatalf("%s: %v", resultsFile, err)
		}
		if before != "" {
			// Kept, so that the next BENCH_RENDER=1 shows it too.
			r.addBefore(t, before)
			r.writeResults(t, resultsFile)
		}
		r.writePage(t, root, page)
		return
	}
	b := setup(t, root)
	b.resultsFile = resultsFile
	rounds, scaleRounds := envInt(t, envRounds, 5), envInt(t, envScaleRounds, 1)
	scales, parallelAt := envSizes(t, envScales, "10 50 200"), envSizes(t, envParallelAt, "50 200")
	b.controlAt = envSizes(t, envControlAt, "50 200")
	planRuns := envInt(t, envPlanRuns, 20)
	r0 := &b.res
	r0.PlanRuns, r0.ParallelAts = planRuns, parallelAt
	r0.ImageBytes, r0.Kubernetes = b.sidecarImageSize(), b.kubeVersion()
	r0.Rounds, r0.ScaleRounds, r0.Scales = rounds, scaleRounds, scales
	r0.Command = envOr(envCommand, fmt.Sprintf("BENCH_ROUNDS=%d BENCH_SCALE_ROUNDS=%d make bench", rounds, scaleRounds))
	b.progress("%d rounds of the single-run rows, %d of the %v rows and of the %d-run plan; %s, %d CPUs, load %s",
		rounds, scaleRounds, scales, planRuns, b.tfVersion, runtime.NumCPU(), loadavg())
	for r := 1; r <= rounds; r++ {
		b.round = r
		b.measure(rowBarePod, func() time.Duration { return b.barePods(1, false) })
		b.measure(rowJobScript, b.jobScript)
		b.measure(rowEmptyApply, b.emptyApply)
		b.singleRun()
		for _, v := range variants {
			b.measure(v.row, func() time.Duration { return b.variant(v) })
		}
		b.measure(rowPlainPlan, func() time.Duration { return b.plan("run", 1) })
		b.measure(rowPreviewPlan, func() time.Duration { return b.plan("plan", 1) })
		if r <= scaleRounds {
			for _, n := range scales[:len(scales)-1] {
				b.scale(n, parallelAt)
			}
			b.manyPreviews(planRuns)
		}
	}
	// The largest size last: on a busy machine it takes longest, and a benchmark cut
	// short (see checkpoint) then keeps every other row.
	for r := 1; r <= scaleRounds && len(scales) > 0; r++ {
		b.round = r
		b.scale(scales[len(scales)-1], parallelAt)
	}
	r := &b.res
	r.Partial = ""
	r.Date = time.Now().UTC().Format("2006-01-02 15:04 UTC")
	r.Machine, r.CLI = machine(), b.tfVersion
	r.LoadEnd, r.Duration = loadavg(), time.Since(b.start).Round(time.Second).String()
	r.addBefore(t, before)
	r.writeResults(t, resultsFile)
	r.writePage(t, root, page)
	b.progress("wrote %s and %s", resultsFile, page)
}

func (r *results) writeResults(t *testing.T, file string) {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writePage writes the page of r to file, and prints it.
func (r *results) writePage(t *testing.T, root, file string) {
	page := r.page(root)
	fmt.Println(page)
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
}

// results are what a run of the benchmark measured, kept in hack/bench/results.json next
// to the page, so that the page can be written again (BENCH_RENDER=1 make bench, e.g.
// after editing notes.md) without measuring again.
type results struct {
	Command, Date, Machine, Kubernetes, CLI string
	LoadStart, LoadEnd, Duration            string
	Rounds, ScaleRounds                     int
	Scales                                  []int
	// Samples are the durations in seconds by row; Requests the request counts of the
	// rows that run the provider; PeakRSSKiB the provider's peak by number of runs.
	Samples    map[string][]float64
	Requests   map[string][]requestCounts
	PeakRSSKiB map[int]int64
	// PeakRSSByRow is the provider's peak RSS by many-run row (KiB).
	PeakRSSByRow map[string]int64 `json:",omitempty"`
	ImageBytes   int64
	// Timelines are the per-phase timelines by row (timeline_test.go).
	Timelines map[string]*timeline `json:",omitempty"`
	// PlanRuns is the size of the many-previews plan; PlanJobs the plan Jobs counted
	// through the API by row (the plan and its apply), in the last round.
	PlanRuns int `json:",omitempty"`
	// Partial says where a benchmark cut short stopped (empty when it ran to the end).
	Partial string `json:",omitempty"`
	// ParallelAts are the sizes measured with Terraform's default parallelism too;
	// ParallelAt is the one size of the results of an older bench (read, never written).
	ParallelAts []int `json:",omitempty"`
	ParallelAt  int   `json:",omitempty"`
	// KubectlWait is, by bare-pods row, how long after the last pod Succeeded (as the
	// informer saw it) kubectl wait returned: the part of a kubectl script's time that the
	// row does not count (see barePods).
	KubectlWait map[string][]float64 `json:",omitempty"`
	// RuntimeOps are the kubelet's runtime operations by many-run row (the last round's).
	RuntimeOps map[string]map[string]runtimeOp `json:",omitempty"`
	PlanJobs   map[string]int                  `json:",omitempty"`
	// Failures are the rows whose measurement failed in some round, and why.
	Failures map[string]string `json:",omitempty"`
	// Before are the results of the same benchmark on the code before (BENCH_BEFORE),
	// BeforeLabel what that code was.
	Before      *results `json:",omitempty"`
	BeforeLabel string   `json:",omitempty"`
}

// addBefore sets r.Before from the results file f (BENCH_BEFORE), when set.
func (r *results) addBefore(t *testing.T, f string) {
	if f == "" {
		return
	}
	var before results
	raw, err := os.ReadFile(f)
	if err == nil {
		err = json.Unmarshal(raw, &before)
	}
	if err != nil {
		t.Fatalf("%s=%s: %v", envBefore, f, err)
	}
	before.Before = nil
	r.Before, r.BeforeLabel = &before, envOr(envBeforeLabel, "before")
}

// The rows of the table, in order.
const (
	rowBarePod    = "a bare pod: `kubectl run` + `kubectl wait` to `Succeeded`"
	rowJobScript  = "a Job: `kubectl apply` + `kubectl wait --for=condition=complete` + `kubectl logs` + `kubectl delete`"
	rowEmptyApply = "`terraform apply` of one `terraform_data` (the empty apply)"
	rowCreate     = "`terraform apply` of one `containerdriver_run`: create"
	rowUpdate     = "its update (changed input)"
	rowDestroy    = "its destroy"
)

func rowRuns(n int) string {
	return fmt.Sprintf("%d `containerdriver_run` in one apply (`-parallelism=%d`)", n, n)
}

// rowRunsAt is n runs with Terraform's default parallelism.
func rowRunsAt(n, p int) string {
	return fmt.Sprintf("%d `containerdriver_run` in one apply (Terraform's default `-parallelism=%d`)", n, p)
}

const (
	podsSuffix        = " bare pods started at once"
	podsSidecarSuffix = " bare pods with a native sidecar started at once"
	// defaultParallelism is Terraform's and OpenTofu's -parallelism when not given.
	defaultParallelism = 10
	rowPlainPlan       = "`terraform plan` of one `containerdriver_run` (a create, no `plan` block: no Job)"
	rowPreviewPlan     = "`terraform plan` of one `containerdriver_run` with `plan = {}` (a create: one preview Job)"
)

func rowPods(n int) string { return fmt.Sprintf("%d%s", n, podsSuffix) }

// rowPodsSidecar is the control row: n bare pods that also start a native sidecar of the
// same image, as a run's pod starts outputs-fetcher before its runner.
func rowPodsSidecar(n int) string { return fmt.Sprintf("%d%s", n, podsSidecarSuffix) }

func rowPlanMany(n int) string {
	return fmt.Sprintf("`terraform plan` of %d `containerdriver_run` with `plan = {}` (`-parallelism=%d`)", n, n)
}

func rowPlanManyApply(n int) string {
	return fmt.Sprintf("then `terraform apply` of the same %d (it plans again, and applies the previews)", n)
}

// variant is a create of one run with one more feature.
type variant struct {
	row, dir string
	hcl      func(b *bench) string // the attributes added to the run
}

var variants = []variant{
	{"create with `skip_permission_checks`", "skip", func(*bench) string { return "skip_permission_checks = true" }},
	{"create with a `files` entry", "files", func(*bench) string { return `files = { "conf/app.json" = "{\"debug\": true}" }` }},
	{"create with `state_path`", "state", func(*bench) string { return `state_path = "/state"` }},
	{"create with a git `source`", "git", func(b *bench) string {
		return fmt.Sprintf(`source = { url = "%s/bench.git", ref = "refs/heads/main" }`, b.gitURL)
	}},
}

type bench struct {
	t                      *testing.T
	root, work, ns         string
	tf, tfVersion          string
	provider, sidecar, img string
	gitURL                 string
	kubeconfig             string
	node                   string // the node whose kubelet's metrics are read (the first)
	controlAt              []int  // the sizes of the control row (BENCH_CONTROL_AT)
	env                    []string
	start                  time.Time
	round                  int
	res                    results
	tr                     *tracker
	resultsFile            string
}

// scale measures n bare pods, n bare pods with a native sidecar (when n is in controlAt)
// and n runs at once, and n runs with Terraform's default parallelism when n is in
// parallelAt.
func (b *bench) scale(n int, parallelAt []int) {
	b.withRuntimeOps(rowPods(n), func() time.Duration { return b.barePods(n, false) })
	if slices.Contains(b.controlAt, n) {
		b.withRuntimeOps(rowPodsSidecar(n), func() time.Duration { return b.barePods(n, true) })
	}
	b.withRuntimeOps(rowRuns(n), func() time.Duration { return b.manyRuns(n, n) })
	if slices.Contains(parallelAt, n) && n > defaultParallelism {
		b.withRuntimeOps(rowRunsAt(n, defaultParallelism), func() time.Duration { return b.manyRuns(n, 0) })
	}
}

// parallelAt are the sizes measured with Terraform's default parallelism too (the one
// ParallelAt of older results).
func (r *results) parallelAt() []int {
	if len(r.ParallelAts) == 0 && r.ParallelAt > 0 {
		return []int{r.ParallelAt}
	}
	return r.ParallelAts
}

// checkpoint writes the results so far after each row, marked Partial, so that a
// benchmark cut short (a shared cluster that goes away) still leaves what it measured;
// BENCH_RENDER=1 makes a page of them that says so.
func (b *bench) checkpoint(row string) {
	if b.resultsFile == "" {
		return
	}
	r := b.res
	r.Partial = fmt.Sprintf("cut short after round %d, row %q (%s into the benchmark)", b.round, plain(row), time.Since(b.start).Round(time.Second))
	r.Date, r.LoadEnd, r.Duration = time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadavg(), time.Since(b.start).Round(time.Second).String()
	r.Machine, r.CLI = machine(), b.tfVersion
	r.writeResults(b.t, b.resultsFile)
}

// requestCounts is what the provider writes with CONTAINERDRIVER_COUNT_REQUESTS
// (internal/provider/requestcount.go), summed over the processes of one command.
type requestCounts struct {
	Requests         map[string]int `json:"requests"`
	Throttled        int            `json:"throttled"`
	ThrottledSeconds float64        `json:"throttled_seconds"`
	Runs             int            `json:"runs"`
	// Seconds is how long the command ran (set by the bench, for the request rate).
	Seconds float64 `json:"seconds,omitempty"`
}

func (r requestCounts) total() int {
	n := 0
	for _, v := range r.Requests {
		n += v
	}
	return n
}

func moduleRoot(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

func setup(t *testing.T, root string) *bench {
	b := &bench{t: t, root: root, start: time.Now(), res: results{
		LoadStart: loadavg(), Samples: map[string][]float64{}, Requests: map[string][]requestCounts{}, PeakRSSKiB: map[int]int64{},
		PeakRSSByRow: map[string]int64{}, Timelines: map[string]*timeline{}, PlanJobs: map[string]int{},
	}}
	b.work = t.TempDir()
	b.kubeconfig = envOr("KUBECONFIG", testcluster.KubeconfigPath())
	c := testcluster.Client(t)
	b.ns = testcluster.Namespace(t, c)
	tr, err := startTracker(c, b.ns)
	if err != nil {
		t.Fatal(err)
	}
	b.tr = tr
	t.Cleanup(tr.close)
	if nodes, err := c.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{}); err == nil && len(nodes.Items) > 0 {
		b.node = nodes.Items[0].Name
	}
	// state_path needs more than the specification's permissions (docs of state_path).
	ctx := context.Background()
	if _, err := c.RbacV1().Roles(b.ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-state"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list", "update", "delete"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().RoleBindings(b.ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bench-state"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "bench-state"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: testcluster.RunnerServiceAccount, Namespace: b.ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	b.progress("building the sidecar image, the no-op runner image and the provider")
	b.sidecar = testcluster.SidecarImage(t)
	noop := testcluster.GoBinary(t, "./hack/bench/noop")
	sum, err := fileHash(noop)
	if err != nil {
		t.Fatal(err)
	}
	b.img = testcluster.ImageRegistry + "/bench-noop:" + sum
	testcluster.BuildImage(t, b.img, imagebuild.Spec{
		Files:      []imagebuild.File{{Path: "/noop", Source: noop, Mode: 0o755}},
		Dirs:       []imagebuild.Dir{{Path: "/tmp", Mode: 0o1777}},
		Entrypoint: []string{"/noop"},
		User:       "1000:1000",
	})
	bin := filepath.Join(b.work, "bin")
	b.provider = filepath.Join(bin, "terraform-provider-containerdriver")
	build := exec.Command("go", "build", "-trimpath", "-o", b.provider, ".")
	build.Dir = b.root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the provider: %v\n%s", err, out)
	}

	b.tf = os.Getenv(envTF)
	if b.tf == "" {
		if p, err := exec.LookPath("terraform"); err == nil {
			b.tf = p
		} else {
			b.tf = filepath.Join(testcluster.Dir(), "bin", "tofu")
		}
	}
	if v, err := exec.Command(b.tf, "version").Output(); err == nil {
		b.tfVersion = strings.SplitN(strings.TrimSpace(string(v)), "\n", 2)[0]
	} else {
		t.Fatalf("%s version: %v (set %s)", b.tf, err, envTF)
	}
	// The provider from the work tree, through dev_overrides: no init, no lock file.
	cli := filepath.Join(b.work, "terraform.tfrc")
	if err := os.WriteFile(cli, fmt.Appendf(nil, `provider_installation {
  dev_overrides {
    "registry.terraform.io/containerdriver/containerdriver" = %q
    "registry.opentofu.org/containerdriver/containerdriver" = %q
  }
  direct {}
}
`, bin, bin), 0o644); err != nil {
		t.Fatal(err)
	}
	b.env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cli, "TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1",
		"KUBE_CONFIG_PATH="+b.kubeconfig, "KUBECONFIG="+b.kubeconfig, "CONTAINERDRIVER_SIDECAR_IMAGE="+b.sidecar)

	gitRoot := t.TempDir()
	testcluster.GitRepo(t, gitRoot, "bench")(map[string]string{"main.tf": "# bench\n"})
	b.gitURL = testcluster.GitServer(t, gitRoot)

	b.config("empty", `resource "terraform_data" "bench" {
  input = var.tag
}`)
	b.config("run", b.runHCL("", ""))
	b.config("many", b.runHCL(manyRunsJob, ""))
	b.config("plan", b.runHCL("", "plan = {}"))
	b.config("plan-many", b.runHCL(manyRunsJob, "plan = {}"))
	for _, v := range variants {
		b.config(v.dir, b.runHCL("", v.hcl(b)))
	}
	// The first command of a kind pays for cold caches: one untimed warm-up of each.
	b.progress("warming up (untimed)")
	b.barePods(1, false)
	b.emptyApply()
	b.tfRun("run", "apply", "-var", "tag=warm-up")
	b.tfRun("run", "destroy", "-var", "tag=warm-up")
	return b
}

const configHead = `terraform {
  required_providers {
    containerdriver = { source = "containerdriver/containerdriver" }
  }
}

provider "containerdriver" {}

variable "tag" { type = string }
variable "n" {
  type    = number
  default = 1
}
`

// runHCL is the configuration of var.n runs of the no-op image; job and extra are added
// to the job attribute and to the resource. The runs differ in their index: runs of
// the very same configuration get the same plan_id, and so the same id, with a preview.
func (b *bench) runHCL(job, extra string) string {
	return fmt.Sprintf(`resource "containerdriver_run" "bench" {
  count  = var.n
  runner = { namespace = %q, service_account = %q }
  job    = {
    image = %q
    %s
  }
  inputs = { tag = var.tag, i = count.index }
  %s
}`, b.ns, testcluster.RunnerServiceAccount, b.img, job, extra)
}

// manyRunsTemplate gives the runner of the many-run rows what the bare pods they are
// compared with request: nothing (a request of 0 in place of the default pod template's
// 1 GiB, at which about 22 runs fit on the node's 23 GiB and the rest wait for memory). The
// run's pod keeps the default template's 64 MiB for outputs-fetcher, the contract's own
// cost, at which 375 runs fit on that node. manyRunsJob is its pod_template attribute.
const manyRunsTemplate = `{"spec":{"containers":[{"name":"runner","resources":{"requests":{"memory":"0"}}}]}}`

var manyRunsJob = fmt.Sprintf("pod_template = %q", manyRunsTemplate)

func (b *bench) config(dir, body string) {
	d := filepath.Join(b.work, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "main.tf"), []byte(configHead+"\n"+body+"\n"), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bench) progress(format string, args ...any) {
	fmt.Printf("bench %6.1fs: %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

// measure runs f and records its duration under row (not when f reports a failure).
// measure runs f and records its duration under row (not when f reports a failure),
// and the timeline of the pods it made (a command starts within microseconds of f).
func (b *bench) measure(row string, f func() time.Duration) {
	start := time.Now()
	d := f()
	if d < 0 {
		return
	}
	b.res.Samples[row] = append(b.res.Samples[row], d.Seconds())
	b.progress("round %d: %-60s %6.2fs", b.round, plain(row), d.Seconds())
	defer b.checkpoint(row)
	if sel := podsOf(row); sel != nil && b.tr != nil {
		tl := b.res.Timelines[row]
		if tl == nil {
			tl = &timeline{}
			b.res.Timelines[row] = tl
		}
		tl.add(b.tr.milestones(start, start.Add(d), sel))
	}
}

// podsOf says which pods of a row's window make its timeline.
func podsOf(row string) func(*podTrace) bool {
	switch {
	case row == rowBarePod || strings.HasSuffix(row, podsSuffix) || strings.HasSuffix(row, podsSidecarSuffix):
		return func(p *podTrace) bool { return p.set != "" }
	case row == rowJobScript:
		return func(p *podTrace) bool { return p.job != "" && p.action == "" }
	case row == rowPreviewPlan || strings.HasPrefix(row, "`terraform plan` of "):
		return func(p *podTrace) bool { return p.action == "plan" }
	case row == rowEmptyApply || row == rowPlainPlan:
		return nil
	}
	return func(p *podTrace) bool { return p.action != "" && p.action != "plan" }
}

func plain(row string) string { return strings.ReplaceAll(row, "`", "") }

// try runs a command with the bench's environment.
func (b *bench) try(extraEnv []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(append([]string{}, b.env...), extraEnv...)
	cmd.Dir = b.work
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// run is try that fails the test when the command fails.
func (b *bench) run(extraEnv []string, name string, args ...string) string {
	out, err := b.try(extraEnv, name, args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return out
}

func (b *bench) kubectl(args ...string) string {
	return b.run(nil, "kubectl", append([]string{"-n", b.ns}, args...)...)
}

// failed records that a row's measurement failed (the many-run rows may meet the node's
// limits) and returns the duration measure skips.
func (b *bench) failed(row string, err error) time.Duration {
	msg := err.Error()
	// The first diagnostic says why; the rest repeats it for every run.
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "Error:") || strings.Contains(l, "Unschedulable") {
			msg = l
			break
		}
	}
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	if b.res.Failures == nil {
		b.res.Failures = map[string]string{}
	}
	b.res.Failures[row] = fmt.Sprintf("round %d: %s", b.round, msg)
	b.progress("round %d: %s FAILED: %s", b.round, plain(row), msg)
	return -1
}

// tfRun runs terraform in a configuration directory with the provider counting its
// requests, and returns how long it took and the counts.
func (b *bench) tfRun(dir string, args ...string) (time.Duration, requestCounts) {
	d, c, err := b.tfTry(dir, args...)
	if err != nil {
		b.t.Fatal(err)
	}
	return d, c
}

func (b *bench) tfTry(dir string, args ...string) (time.Duration, requestCounts, error) {
	counts, err := os.MkdirTemp(b.work, "requests-")
	if err != nil {
		b.t.Fatal(err)
	}
	defer os.RemoveAll(counts)
	full := append([]string{"-chdir=" + filepath.Join(b.work, dir)}, args...)
	if args[0] != "plan" {
		full = append(full, "-auto-approve")
	}
	full = append(full, "-input=false", "-no-color")
	start := time.Now()
	_, runErr := b.try([]string{countRequests + "=" + counts}, b.tf, full...)
	d := time.Since(start)
	sum := requestCounts{Requests: map[string]int{}}
	files, _ := filepath.Glob(filepath.Join(counts, "requests-*.json"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.t.Fatal(err)
		}
		var c requestCounts
		if err := json.Unmarshal(raw, &c); err != nil {
			b.t.Fatalf("%s: %v", f, err)
		}
		for k, v := range c.Requests {
			sum.Requests[k] += v
		}
		sum.Throttled += c.Throttled
		sum.ThrottledSeconds += c.ThrottledSeconds
	}
	sum.Seconds = d.Seconds()
	return d, sum, runErr
}

// forget drops a configuration's state and what its runs keep in the cluster (state
// Secrets), without running their destroy: the next create starts from nothing.
func (b *bench) forget(dir string) {
	for _, f := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
		_ = os.Remove(filepath.Join(b.work, dir, f))
	}
	b.kubectl("delete", "secrets", "-l", "containerdriver.io/state-of", "--ignore-not-found")
}

func (b *bench) emptyApply() time.Duration {
	d, _ := b.tfRun("empty", "apply", "-var", fmt.Sprintf("tag=%d-%d", b.round, time.Now().UnixNano()))
	return d
}

// singleRun measures one run's create, update and destroy.
func (b *bench) singleRun() {
	tag := fmt.Sprintf("r%d", b.round)
	for _, step := range []struct {
		row  string
		args []string
	}{
		{rowCreate, []string{"apply", "-var", "tag=" + tag}},
		{rowUpdate, []string{"apply", "-var", "tag=" + tag + "-changed"}},
		{rowDestroy, []string{"destroy", "-var", "tag=" + tag + "-changed"}},
	} {
		b.measure(step.row, func() time.Duration {
			d, c := b.tfRun("run", step.args...)
			c.Runs = 1
			b.res.Requests[step.row] = append(b.res.Requests[step.row], c)
			return d
		})
	}
}

func (b *bench) variant(v variant) time.Duration {
	d, _ := b.tfRun(v.dir, "apply", "-var", fmt.Sprintf("tag=r%d", b.round))
	b.forget(v.dir)
	return d
}

// manyRuns applies n runs with -parallelism=p (Terraform's default for 0) while
// sampling the provider's peak RSS.
func (b *bench) manyRuns(n, p int) time.Duration {
	row := rowRuns(n)
	args := []string{"apply"}
	if p > 0 {
		args = append(args, fmt.Sprintf("-parallelism=%d", p))
	} else {
		row = rowRunsAt(n, defaultParallelism)
	}
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() { peak <- b.samplePeakRSS(stop) }()
	d, c, err := b.tfTry("many", append(args, "-var", fmt.Sprintf("n=%d", n), "-var", fmt.Sprintf("tag=r%d-p%d", b.round, p))...)
	close(stop)
	if err != nil {
		<-peak
		b.forget("many")
		return b.failed(row, err)
	}
	pk := <-peak
	if p == n && pk > b.res.PeakRSSKiB[n] {
		b.res.PeakRSSKiB[n] = pk
	}
	if pk > b.res.PeakRSSByRow[row] {
		b.res.PeakRSSByRow[row] = pk
	}
	c.Runs = n
	b.res.Requests[row] = append(b.res.Requests[row], c)
	b.forget("many")
	return d
}

// plan runs terraform plan of n runs of a configuration (no state: each run is a
// create) and drops the previews it kept; it returns how long the plan took.
func (b *bench) plan(dir string, n int) time.Duration {
	d, c := b.tfRun(dir, "plan", fmt.Sprintf("-parallelism=%d", max(n, defaultParallelism)), "-var", fmt.Sprintf("n=%d", n),
		"-var", fmt.Sprintf("tag=plan-r%d-%d", b.round, time.Now().UnixNano()))
	c.Runs = n
	row := rowPlainPlan
	if dir != "run" {
		row = rowPreviewPlan
	}
	b.res.Requests[row] = append(b.res.Requests[row], c)
	b.dropPreviews()
	return d
}

// dropPreviews deletes the previews a plan kept and nothing applied (the provider keeps
// them a day).
func (b *bench) dropPreviews() {
	b.kubectl("delete", "secrets", "-l", contract.LabelPlanID, "--ignore-not-found")
}

// manyPreviews plans n runs with a preview each, then applies them, and counts the plan
// Jobs through the API: the plan must run exactly n, the apply (which plans again) none.
func (b *bench) manyPreviews(n int) {
	planRow, applyRow := rowPlanMany(n), rowPlanManyApply(n)
	tag := fmt.Sprintf("previews-r%d", b.round)
	vars := []string{fmt.Sprintf("-parallelism=%d", n), "-var", fmt.Sprintf("n=%d", n), "-var", "tag=" + tag}
	start := time.Now()
	b.measure(planRow, func() time.Duration {
		d, c, err := b.tfTry("plan-many", append([]string{"plan"}, vars...)...)
		if err != nil {
			return b.failed(planRow, err)
		}
		c.Runs = n
		b.res.Requests[planRow] = append(b.res.Requests[planRow], c)
		return d
	})
	afterPlan := time.Now()
	b.measure(applyRow, func() time.Duration {
		d, c, err := b.tfTry("plan-many", append([]string{"apply"}, vars...)...)
		if err != nil {
			return b.failed(applyRow, err)
		}
		c.Runs = n
		b.res.Requests[applyRow] = append(b.res.Requests[applyRow], c)
		return d
	})
	// The informer sees a Job within milliseconds of its creation; both commands have
	// returned, so every plan Job they made has been created.
	inPlan := b.tr.planJobsSince(start) - b.tr.planJobsSince(afterPlan)
	inApply := b.tr.planJobsSince(afterPlan)
	b.res.PlanJobs[planRow], b.res.PlanJobs[applyRow] = inPlan, inApply
	b.progress("round %d: plan Jobs counted through the API: %d in the plan of %d runs, %d in its apply", b.round, inPlan, n, inApply)
	if inPlan != n || inApply != 0 {
		b.t.Errorf("a plan of %d runs with previews ran %d plan Jobs and its apply %d more: want %d and 0 (each preview once)", n, inPlan, inApply, n)
	}
	b.forget("plan-many")
	b.dropPreviews()
}

// samplePeakRSS reads VmHWM (the peak resident set) of every process running the
// provider binary every 100 ms until stop, and returns the largest, in KiB.
func (b *bench) samplePeakRSS(stop <-chan struct{}) int64 {
	var peak int64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			if exe, err := os.Readlink(d + "/exe"); err != nil || exe != b.provider {
				continue
			}
			status, err := os.ReadFile(d + "/status")
			if err != nil {
				continue
			}
			for l := range strings.Lines(string(status)) {
				if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
					if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > peak {
						peak = kb
					}
				}
			}
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

// podSpec is a pod of the no-op image that the restricted Pod Security Standard admits;
// with sidecar, it also starts the no-op image as a native sidecar first (the control of
// the many-run rows, see rowPodsSidecar).
func (b *bench) podSpec(sidecar bool) map[string]any {
	restricted := map[string]any{
		"allowPrivilegeEscalation": false, "capabilities": map[string]any{"drop": []string{"ALL"}},
	}
	spec := map[string]any{
		"restartPolicy": "Never",
		"securityContext": map[string]any{
			"runAsNonRoot": true, "runAsUser": 1000, "seccompProfile": map[string]any{"type": "RuntimeDefault"},
		},
		"containers": []any{map[string]any{
			"name": "runner", "image": b.img, "imagePullPolicy": "IfNotPresent", "securityContext": restricted,
		}},
	}
	if sidecar {
		// Named as the run's sidecar, so that the timelines line up phase by phase; it
		// requests what outputs-fetcher requests, and waits for the kubelet's SIGTERM once
		// the runner has ended, as outputs-fetcher does, but writes nothing.
		spec["initContainers"] = []any{map[string]any{
			"name": contract.ContainerOutputsFetcher, "image": b.img, "imagePullPolicy": "IfNotPresent", "args": []string{"sidecar"},
			"restartPolicy": "Always", "securityContext": restricted,
			"resources": map[string]any{"requests": map[string]any{"memory": sidecarRequest}},
		}}
	}
	return spec
}

// sidecarRequest is the memory request of outputs-fetcher in the default pod template
// (the specification's, internal/containerdriver/job_containers.go).
const sidecarRequest = "64Mi"

// barePods starts n pods of the no-op image (kubectl run for one, one kubectl create of
// a list for more), with a native sidecar each when sidecar is set, and waits until all
// have Succeeded; deleting them is not timed.
//
// One pod's time ends when kubectl wait returns. Many pods' time ends when the
// benchmark's informer saw the last of them Succeeded: kubectl wait reads the pods one
// at a time (a GET each, and a watch of the one it waits for), so that it returns
// seconds after the last pod ended at 200 pods (kept in results.KubectlWait), a cost of
// kubectl's, not of the node's, which the runs' rows must not be compared with. kubectl
// wait still runs, so that a pod that never ends fails the row.
func (b *bench) barePods(n int, sidecar bool) time.Duration {
	set := fmt.Sprintf("pods-%d-%d", b.round, n)
	row := rowPods(n)
	if sidecar {
		set, row = fmt.Sprintf("sidecar-%d-%d", b.round, n), rowPodsSidecar(n)
	}
	if n == 1 && !sidecar {
		row = rowBarePod
	}
	// A busy node starts a pod or two a second: the wait grows with n.
	wait := []string{"wait", "--for=jsonpath={.status.phase}=Succeeded", fmt.Sprintf("--timeout=%ds", 300+3*n)}
	start := time.Now()
	var err error
	if n == 1 && !sidecar {
		overrides, _ := json.Marshal(map[string]any{"apiVersion": "v1", "spec": b.podSpec(false)})
		b.kubectl("run", set, "--image="+b.img, "--restart=Never", "--labels=bench-set="+set, "--overrides="+string(overrides))
		_, err = b.try(nil, "kubectl", append([]string{"-n", b.ns}, append(wait, "pod/"+set)...)...)
	} else {
		var items []any
		for i := range n {
			items = append(items, map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": fmt.Sprintf("%s-%d", set, i), "labels": map[string]string{"bench-set": set}},
				"spec":     b.podSpec(sidecar),
			})
		}
		f := b.writeJSON(set+".json", map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
		b.kubectl("create", "-f", f)
		_, err = b.try(nil, "kubectl", append([]string{"-n", b.ns}, append(wait, "pod", "-l", "bench-set="+set)...)...)
	}
	d := time.Since(start)
	if err == nil && n > 1 && b.tr != nil {
		last, ok := b.tr.lastSucceeded(set, n)
		if !ok {
			err = fmt.Errorf("kubectl wait returned, but the informer saw fewer than %d pods of %s Succeeded", n, set)
		} else {
			if b.res.KubectlWait == nil {
				b.res.KubectlWait = map[string][]float64{}
			}
			b.res.KubectlWait[row] = append(b.res.KubectlWait[row], ms3(d-last.Sub(start)))
			d = last.Sub(start)
		}
	}
	b.kubectl("delete", "pods", "-l", "bench-set="+set, "--wait=true")
	if err != nil {
		return b.failed(row, err)
	}
	return d
}

// jobScript is what users write today: apply a Job, wait, read its log, delete it.
func (b *bench) jobScript() time.Duration {
	name := fmt.Sprintf("bench-job-%d", b.round)
	f := b.writeJSON(name+".json", map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"backoffLimit": 0,
			"template":     map[string]any{"spec": b.podSpec(false)},
		},
	})
	start := time.Now()
	b.kubectl("apply", "-f", f)
	b.kubectl("wait", "--for=condition=complete", "--timeout=300s", "job/"+name)
	b.kubectl("logs", "job/"+name)
	b.kubectl("delete", "job", name)
	return time.Since(start)
}

func (b *bench) writeJSON(name string, v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	f := filepath.Join(b.work, name)
	if err := os.WriteFile(f, raw, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return f
}

// sidecarImageSize is the size of the sidecar image's content in the cluster's
// containerd (uncompressed: imported images keep their layers as tar).
func (b *bench) sidecarImageSize() int64 {
	out, err := exec.Command("ctr", "--address", testcluster.ContainerdAddress(), "-n", "k8s.io", "images", "ls", "name=="+b.sidecar).CombinedOutput()
	if err != nil {
		b.t.Fatalf("ctr images ls: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 2 {
		b.t.Fatalf("image %s not found:\n%s", b.sidecar, out)
	}
	// REF TYPE DIGEST SIZE UNIT PLATFORMS LABELS
	f := strings.Fields(lines[1])
	if len(f) < 5 {
		b.t.Fatalf("ctr images ls: %q", lines[1])
	}
	v, err := strconv.ParseFloat(f[3], 64)
	if err != nil {
		b.t.Fatalf("ctr images ls size %q: %v", f[3], err)
	}
	unit := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}[f[4]]
	return int64(v * unit)
}

// kubeVersion is the API server's version.
func (b *bench) kubeVersion() string {
	var v struct {
		ServerVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(b.run(nil, "kubectl", "version", "-o", "json")), &v); err != nil {
		return "?"
	}
	return v.ServerVersion.GitVersion
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(t *testing.T, k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a number of at least 1", k, v)
	}
	return n
}

// envSizes are the numbers of runs in k, at least 2 each (def when k is not set).
func envSizes(t *testing.T, k, def string) []int {
	var sizes []int
	for _, f := range strings.Fields(envOr(k, def)) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 2 {
			t.Fatalf("%s: %q is not a number of runs above 1", k, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

func fileHash(f string) (string, error) {
	raw, err := os.ReadFile(f)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])[:16], nil
}

func loadavg() string {
	raw, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
