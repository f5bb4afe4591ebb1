package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// status is the verdict of one check.
type status string

const (
	statusPass status = "PASS"
	statusFail status = "FAIL"
	// statusWarn: not a break of the contract, or not checked for want of a flag.
	statusWarn status = "WARN"
	// statusSkip: not checked, because a run it needs failed.
	statusSkip status = "SKIP"
)

// The checks, in the order they are reported.
const (
	checkCreate        = "create"
	checkOutputsJSON   = "outputs-are-json-objects"
	checkOutputsSize   = "outputs-within-limits"
	checkIdempotent    = "create-is-idempotent"
	checkUpdate        = "update-converges"
	checkInvalidInput  = "invalid-input-fails"
	checkDestroy       = "destroy"
	checkLeavesNothing = "destroy-leaves-nothing"
	checkRecreate      = "create-after-destroy"
	checkNoSecretInLog = "no-secret-in-log"
	checkNonRoot       = "non-root-user"
)

var checkOrder = []string{
	checkCreate, checkOutputsJSON, checkOutputsSize, checkIdempotent, checkUpdate, checkInvalidInput,
	checkDestroy, checkLeavesNothing, checkRecreate, checkNoSecretInLog, checkNonRoot,
}

var checkTitles = map[string]string{
	checkCreate:        "create succeeds",
	checkOutputsJSON:   "OUTPUTS_FILE and SECRET_OUTPUTS_FILE hold JSON objects",
	checkOutputsSize:   "the output files stay within the documented sizes",
	checkIdempotent:    "a second create with the same inputs succeeds with the same outputs",
	checkUpdate:        "a create with changed inputs (an update) succeeds",
	checkInvalidInput:  "invalid inputs fail with a non-zero exit code and an ERROR_FILE",
	checkDestroy:       "destroy succeeds",
	checkLeavesNothing: "destroy leaves no state behind",
	checkRecreate:      "a create after the destroy starts from nothing and succeeds",
	checkNoSecretInLog: "no secret value appears in the runner's log or error file",
	checkNonRoot:       "the image runs as a non-root user under the restricted security context",
}

// checkResult is one check's verdict and what it is based on.
type checkResult struct {
	ID       string
	Title    string
	Status   status
	Summary  string
	Evidence []string
	Duration time.Duration
}

// canaryVariable is a secret variable every check run gets, so a runner that prints its
// environment shows it (masked) in its log.
const canaryVariable = "CONTAINERDRIVER_CHECK_SECRET"

func checkCommand(ctx context.Context, o *checkOptions, s streams) int {
	c, code := newChecker(ctx, o, s)
	if c == nil {
		return code
	}
	start := time.Now()
	env, err := prepare(ctx, c.client, &o.commonOptions, "containerdriver-check-", s.stderr)
	if err != nil {
		fmt.Fprintf(s.stderr, "containerdriver check: %v\n", err)
		return exitFailed
	}
	c.env = env
	c.base.Job.Namespace, c.base.Job.ServiceAccount = env.namespace, env.serviceAccount
	fmt.Fprintf(s.stderr, "containerdriver: checking %s in %s, run id %s (sidecars %s)\n", o.image, env.namespace, c.base.RunID, c.base.SidecarImage)

	c.runAll(ctx)

	if err := env.teardown(ctx); err != nil {
		fmt.Fprintf(s.stderr, "containerdriver check: removing what --setup created: %v\n", err)
	}
	total := time.Since(start)
	results := c.ordered()
	writeResults(s.stdout, results)
	counts := map[status]int{}
	for _, r := range results {
		counts[r.Status]++
	}
	fmt.Fprintf(s.stdout, "\n%d passed, %d failed, %d warnings, %d skipped: %s (%.0fs)\n",
		counts[statusPass], counts[statusFail], counts[statusWarn], counts[statusSkip], o.image, total.Seconds())
	if o.junitFile != "" {
		if err := writeJUnitFile(o.junitFile, o.image, results, total); err != nil {
			fmt.Fprintf(s.stderr, "containerdriver check: %v\n", err)
			return exitFailed
		}
	}
	if counts[statusFail] > 0 {
		return exitFailed
	}
	return exitOK
}

// checker runs one image through the sequence of runs the checks judge.
type checker struct {
	o        *checkOptions
	client   kubernetes.Interface
	ex       *containerdriver.Executor
	env      *environment
	base     containerdriver.RunSpec
	inputs   map[string]any
	update   map[string]any // nil: not given
	invalid  map[string]any // nil: not given
	log      *logCollector
	progress io.Writer

	mu      sync.Mutex
	results map[string]*checkResult
	// errorFiles are the error files of failed runs, checked for secrets too.
	errorFiles []labelled
}

type labelled struct{ run, text string }

func newChecker(ctx context.Context, o *checkOptions, s streams) (*checker, int) {
	fail := func(err error) (*checker, int) {
		fmt.Fprintf(s.stderr, "containerdriver check: %v\n", err)
		return nil, exitUsage
	}
	spec, err := o.runTemplate()
	if err != nil {
		return fail(err)
	}
	c := &checker{o: o, base: *spec, inputs: map[string]any{}, progress: s.stderr, results: map[string]*checkResult{}}
	if o.inputsFile != "" {
		if c.inputs, err = readJSONObject("inputs", o.inputsFile); err != nil {
			return fail(err)
		}
	}
	if o.updateInputsFile != "" {
		if c.update, err = readJSONObject("update-inputs", o.updateInputsFile); err != nil {
			return fail(err)
		}
		if reflect.DeepEqual(c.update, c.inputs) {
			return fail(errors.New("--update-inputs holds the same inputs as --inputs; change at least one"))
		}
	}
	if o.invalidInputsFile != "" {
		if c.invalid, err = readJSONObject("invalid-inputs", o.invalidInputsFile); err != nil {
			return fail(err)
		}
	}
	if c.base.RunID == "" {
		c.base.RunID = newRunID()
	}
	c.base.SidecarImage = sidecarImage(o.sidecarImage)
	secrets := map[string]string{}
	for k, v := range c.base.Job.SecretVariables {
		secrets[k] = v
	}
	secrets[canaryVariable] = "cdcheck-" + randomHex(12)
	c.base.Job.SecretVariables = secrets
	probe := c.base
	probe.Inputs = c.inputs
	if probe.Job.Namespace == "" {
		probe.Job.Namespace = "containerdriver-check"
	}
	if err := probe.Validate(); err != nil {
		msg, ok := describeValidation(err)
		if !ok {
			msg = err.Error()
		}
		return fail(errors.New(msg))
	}
	if c.client, err = kubeClient(&o.commonOptions, s); err != nil {
		return fail(err)
	}
	c.log = newLogCollector()
	c.log.addSecretVariables(c.base.Job.SecretVariables)
	c.ex = &containerdriver.Executor{Client: c.client}
	return c, exitOK
}

func (c *checker) set(id string, st status, summary string, evidence ...string) *checkResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &checkResult{ID: id, Title: checkTitles[id], Status: st, Summary: summary, Evidence: evidence}
	c.results[id] = r
	return r
}

func (c *checker) ordered() []*checkResult {
	out := make([]*checkResult, 0, len(checkOrder))
	for _, id := range checkOrder {
		r := c.results[id]
		if r == nil {
			r = &checkResult{ID: id, Title: checkTitles[id], Status: statusSkip, Summary: "not reached"}
		}
		out = append(out, r)
	}
	return out
}

// outcome is one run of the image.
type outcome struct {
	label string
	res   *containerdriver.Result
	err   error
	took  time.Duration
}

func (r *outcome) runErr() *containerdriver.RunError {
	var re *containerdriver.RunError
	if errors.As(r.err, &re) {
		return re
	}
	return nil
}

// describeFailure is a failed run's error, as the provider would show it, masked.
func (c *checker) describeFailure(r *outcome) []string {
	text := r.err.Error()
	if re := r.runErr(); re != nil {
		text = re.Detail()
	}
	return strings.Split(strings.TrimRight(c.log.mask(text), "\n"), "\n")
}

func (c *checker) exec(ctx context.Context, label string, inputs map[string]any, action string) *outcome {
	spec := c.base
	spec.Inputs = inputs
	// The Job is kept so that its raw log and error file can be read (the executor masks
	// what it reports), then removed by collect.
	spec.KeepResources = true
	rctx, cancel := context.WithTimeout(ctx, c.o.timeout)
	defer cancel()
	start := time.Now()
	res, err := c.ex.Run(rctx, &spec, action)
	r := &outcome{label: label, res: res, err: err, took: time.Since(start).Round(100 * time.Millisecond)}
	verdict, job := "ok", ""
	if res != nil {
		c.log.addSecrets(res.SecretOutputs)
		job = res.JobName
	}
	if err != nil {
		verdict = "failed"
		if re := r.runErr(); re != nil {
			verdict = fmt.Sprintf("failed (%s)", re.Reason)
			job = re.JobName
			re.Kept = false
		}
	}
	if job != "" {
		c.collect(ctx, label, job)
	}
	fmt.Fprintf(c.progress, "containerdriver: %s: %s in %v\n", label, verdict, r.took)
	return r
}

// collect reads a run's raw runner log and error file, then removes its Job and objects.
func (c *checker) collect(ctx context.Context, label, job string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	ns := c.env.namespace
	defer func() {
		if err := c.ex.Cleanup(ctx, ns, job); err != nil {
			fmt.Fprintf(c.progress, "containerdriver check: removing job %s/%s: %v\n", ns, job, err)
		}
	}()
	pods, err := c.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job}.String()})
	if err == nil {
		for _, p := range pods.Items {
			b, err := c.client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: contract.ContainerRunner, LimitBytes: ptr.To[int64](contract.MaxOutputsBytes)}).DoRaw(ctx)
			if err == nil {
				c.log.addLog(label, string(b))
			}
		}
	}
	sel := func(role string) metav1.ListOptions {
		return metav1.ListOptions{LabelSelector: labels.Set{contract.LabelJob: job, contract.LabelRole: role}.String()}
	}
	cms, err1 := c.client.CoreV1().ConfigMaps(ns).List(ctx, sel(contract.RoleOutputs))
	secrets, err2 := c.client.CoreV1().Secrets(ns).List(ctx, sel(contract.RoleSecretOutputs))
	if err1 != nil || err2 != nil || len(cms.Items)+len(secrets.Items) == 0 {
		return
	}
	if h, _ := outputs.Assemble(cms.Items, secrets.Items); h != nil && strings.TrimSpace(h.ErrorText) != "" {
		c.errorFiles = append(c.errorFiles, labelled{label, h.ErrorText})
	}
}

// runAll runs the sequence: create, create again, update, invalid inputs, destroy, create
// after the destroy and its destroy, then the non-root probe; each run feeds the checks
// that judge it.
func (c *checker) runAll(ctx context.Context) {
	before, snapErr := snapshot(ctx, c.client, c.env.namespace)

	created := c.exec(ctx, "create #1", c.inputs, contract.ActionCreate)
	createdOK := c.judgeCreate(created)
	last := c.inputs
	if createdOK {
		c.judgeIdempotent(created, c.exec(ctx, "create #2 (same inputs)", c.inputs, contract.ActionCreate))
		if c.update == nil {
			c.set(checkUpdate, statusWarn, "not checked: give --update-inputs FILE, inputs that differ from --inputs")
		} else if c.judgeUpdate(created, c.exec(ctx, "create #3 (update)", c.update, contract.ActionCreate)) {
			last = c.update
		}
		if c.invalid == nil {
			c.set(checkInvalidInput, statusWarn, "not checked: give --invalid-inputs FILE, inputs the runner must refuse")
		} else {
			c.judgeInvalid(c.exec(ctx, "create with --invalid-inputs", c.invalid, contract.ActionCreate))
		}
	} else {
		for _, id := range []string{checkIdempotent, checkUpdate, checkInvalidInput} {
			c.set(id, statusSkip, "the first create did not succeed")
		}
	}

	// A destroy runs even after a failed create: the contract asks it to succeed then too,
	// and it is what cleans up.
	destroyed := c.exec(ctx, "destroy", last, contract.ActionDestroy)
	destroyOK := c.judgeDestroy(destroyed)
	if snapErr != nil {
		c.set(checkLeavesNothing, statusWarn, "not checked: the namespace could not be listed: "+snapErr.Error())
	} else {
		c.judgeLeftovers(ctx, before, destroyOK)
	}

	if createdOK && destroyOK {
		again := c.exec(ctx, "create after destroy", c.inputs, contract.ActionCreate)
		var final *outcome
		if again.err == nil {
			final = c.exec(ctx, "destroy after the second create", c.inputs, contract.ActionDestroy)
		}
		c.judgeRecreate(again, final)
	} else {
		c.set(checkRecreate, statusSkip, "the first create or the destroy did not succeed")
	}
	// Leave no Job, inputs or driver state of the run behind in any case.
	spec := c.base
	if err := c.ex.ForceCleanup(context.WithoutCancel(ctx), &spec); err != nil {
		fmt.Fprintf(c.progress, "containerdriver check: cleaning up the run's Jobs: %v\n", err)
	}
	c.judgeSecrets()
	c.judgeNonRoot(ctx)
}

func (c *checker) judgeCreate(r *outcome) bool {
	if r.err == nil {
		c.set(checkCreate, statusPass, fmt.Sprintf("succeeded in %v (exit code %d, uid 1000, restricted security context)", r.took, r.res.ExitCode)).Duration = r.took
		c.judgeOutputs(r.res)
		return true
	}
	re := r.runErr()
	if re != nil && re.Reason == "InvalidOutputs" {
		// The runner exited 0: what broke is its output files.
		c.set(checkCreate, statusPass, fmt.Sprintf("the runner exited 0 in %v", r.took))
		size, other := splitProblems(re.Message)
		if len(other) > 0 {
			c.set(checkOutputsJSON, statusFail, "the runner's output files are not JSON objects", append(other, c.logTail(re)...)...)
		} else {
			c.set(checkOutputsJSON, statusSkip, "not judged: an output file was too large to be read")
		}
		if len(size) > 0 {
			c.set(checkOutputsSize, statusFail, fmt.Sprintf("an output file is larger than the %d bytes allowed", contract.MaxOutputsBytes), size...)
		} else {
			c.set(checkOutputsSize, statusPass, "every output file was read")
		}
		return false
	}
	c.set(checkCreate, statusFail, fmt.Sprintf("the create failed after %v", r.took), c.describeFailure(r)...)
	c.set(checkOutputsJSON, statusSkip, "the create did not succeed")
	c.set(checkOutputsSize, statusSkip, "the create did not succeed")
	return false
}

// splitProblems separates the outputs-fetcher's findings about sizes from the others.
func splitProblems(msg string) (size, other []string) {
	if _, rest, ok := strings.Cut(msg, "): "); ok && strings.HasPrefix(msg, "the runner's output files break the contract") {
		msg = rest
	}
	var parts []string
	for _, p := range strings.Split(msg, "; ") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		// "... larger than the N bytes allowed; it was not stored" is one problem.
		if strings.HasPrefix(p, "it ") && len(parts) > 0 {
			parts[len(parts)-1] += "; " + p
			continue
		}
		parts = append(parts, p)
	}
	for _, p := range parts {
		if strings.Contains(p, "bytes allowed") {
			size = append(size, p)
		} else {
			other = append(other, p)
		}
	}
	return size, other
}

func (c *checker) judgeOutputs(res *containerdriver.Result) {
	c.set(checkOutputsJSON, statusPass, fmt.Sprintf("%d outputs, %d secret outputs", len(res.Outputs), len(res.SecretOutputs)),
		"outputs: "+describeKeys(res.Outputs), "secret outputs: "+describeKeys(res.SecretOutputs))
	ob, _ := json.Marshal(res.Outputs)
	sb, _ := json.Marshal(res.SecretOutputs)
	st := statusPass
	if len(ob) > contract.MaxOutputsBytes || len(sb) > contract.MaxOutputsBytes {
		st = statusFail
	}
	c.set(checkOutputsSize, st, fmt.Sprintf("outputs %d bytes, secret outputs %d bytes (at most %d bytes each)", len(ob), len(sb), contract.MaxOutputsBytes))
}

// describeKeys lists an output object's names and value types, never the values.
func describeKeys(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s (%s)", k, strings.TrimPrefix(strings.TrimPrefix(jsonKind(m[k]), "a "), "an "))
	}
	return strings.Join(parts, ", ")
}

func (c *checker) judgeIdempotent(first, second *outcome) {
	if second.err != nil {
		c.set(checkIdempotent, statusFail, "the second create with the same inputs failed: a create must converge, not assume a blank slate",
			c.describeFailure(second)...)
		return
	}
	diffs := diffOutputs(first.res, second.res)
	if len(diffs) > 0 {
		c.set(checkIdempotent, statusFail, "the second create with the same inputs gave other outputs", diffs...)
		return
	}
	c.set(checkIdempotent, statusPass, fmt.Sprintf("succeeded in %v with the same %d outputs and %d secret outputs", second.took, len(second.res.Outputs), len(second.res.SecretOutputs))).Duration = second.took
}

// diffOutputs describes how two results' outputs differ; secret values are never shown.
func diffOutputs(a, b *containerdriver.Result) []string {
	var out []string
	for _, k := range unionKeys(a.Outputs, b.Outputs) {
		x, inA := a.Outputs[k]
		y, inB := b.Outputs[k]
		switch {
		case !inA:
			out = append(out, fmt.Sprintf("output %q appeared: %s", k, compactJSON(y)))
		case !inB:
			out = append(out, fmt.Sprintf("output %q disappeared (was %s)", k, compactJSON(x)))
		case !reflect.DeepEqual(x, y):
			out = append(out, fmt.Sprintf("output %q: %s, then %s", k, compactJSON(x), compactJSON(y)))
		}
	}
	for _, k := range unionKeys(a.SecretOutputs, b.SecretOutputs) {
		x, inA := a.SecretOutputs[k]
		y, inB := b.SecretOutputs[k]
		if !inA || !inB || !reflect.DeepEqual(x, y) {
			out = append(out, fmt.Sprintf("secret output %q changed (values not shown)", k))
		}
	}
	return out
}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

func (c *checker) judgeUpdate(created, updated *outcome) bool {
	if updated.err != nil {
		c.set(checkUpdate, statusFail, "the create with --update-inputs failed", c.describeFailure(updated)...)
		return false
	}
	diffs := diffOutputs(created.res, updated.res)
	if len(diffs) == 0 {
		diffs = []string{"no output changed"}
	}
	c.set(checkUpdate, statusPass, fmt.Sprintf("succeeded in %v", updated.took), diffs...).Duration = updated.took
	return true
}

func (c *checker) judgeInvalid(r *outcome) {
	if r.err == nil {
		c.set(checkInvalidInput, statusFail, "the run with --invalid-inputs succeeded; it must fail with a non-zero exit code and a message in ERROR_FILE",
			"outputs: "+describeKeys(r.res.Outputs))
		return
	}
	re := r.runErr()
	switch {
	case re == nil:
		c.set(checkInvalidInput, statusFail, "the run with --invalid-inputs did not end as a run failure", c.describeFailure(r)...)
	case re.Container != contract.ContainerRunner || re.ExitCode == nil || *re.ExitCode == 0:
		c.set(checkInvalidInput, statusFail, fmt.Sprintf("the run failed, but not by the runner's non-zero exit (container %q, reason %s)", re.Container, re.Reason),
			c.describeFailure(r)...)
	case strings.TrimSpace(re.ErrorFile) == "":
		c.set(checkInvalidInput, statusFail, fmt.Sprintf("the runner exited %d but wrote nothing to ERROR_FILE: the user sees only an exit code and the log's tail", *re.ExitCode),
			c.logTail(re)...)
	default:
		c.set(checkInvalidInput, statusPass, fmt.Sprintf("exit code %d, ERROR_FILE: %s", *re.ExitCode, firstLine(c.log.mask(re.ErrorFile))))
	}
}

func (c *checker) logTail(re *containerdriver.RunError) []string {
	l := strings.TrimRight(re.Logs[contract.ContainerRunner], "\n")
	if l == "" {
		return nil
	}
	lines := strings.Split(c.log.mask(l), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return append([]string{"last lines of the runner's log:"}, lines...)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

func (c *checker) judgeDestroy(r *outcome) bool {
	if r.err != nil {
		c.set(checkDestroy, statusFail, "the destroy failed; a destroy must succeed, also when there is nothing left to undo", c.describeFailure(r)...)
		return false
	}
	summary := fmt.Sprintf("succeeded in %v", r.took)
	if n := len(r.res.Outputs) + len(r.res.SecretOutputs); n > 0 {
		summary += fmt.Sprintf(", with %d outputs (usually {} after a destroy)", n)
	}
	c.set(checkDestroy, statusPass, summary).Duration = r.took
	return true
}

func (c *checker) judgeRecreate(again, final *outcome) {
	switch {
	case again.err != nil:
		c.set(checkRecreate, statusFail, "the create after the destroy failed", c.describeFailure(again)...)
	case final.err != nil:
		c.set(checkRecreate, statusFail, "the create after the destroy succeeded, but its destroy failed", c.describeFailure(final)...)
	default:
		c.set(checkRecreate, statusPass, fmt.Sprintf("create succeeded in %v and its destroy in %v", again.took, final.took)).Duration = again.took + final.took
	}
}

func (c *checker) judgeSecrets() {
	found := c.log.leaks()
	for _, ef := range c.errorFiles {
		for _, l := range strings.Split(ef.text, "\n") {
			if m := c.log.mask(l); m != l {
				found = append(found, fmt.Sprintf("[%s, ERROR_FILE] %s", ef.run, m))
			}
		}
	}
	if len(found) == 0 {
		c.set(checkNoSecretInLog, statusPass, fmt.Sprintf("%d log lines read; no secret variable (%d, with the check's own %s) or secret output value in them",
			c.log.count(), len(c.base.Job.SecretVariables), canaryVariable))
		return
	}
	n := len(found)
	if n > 8 {
		found = append(found[:8], fmt.Sprintf("... and %d more", n-8))
	}
	c.set(checkNoSecretInLog, statusFail, fmt.Sprintf("%d lines hold the value of a secret variable or secret output (masked here as %s): the log is not secret", n, containerdriver.MaskedText), found...)
}

// newRunID is a random UUID (version 4) whose last group does not end in a digit: the
// OpenTofu runner would hash a state suffix ending in -<digits>.
func newRunID() string {
	for {
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		id := fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
		if strings.Trim(id[24:], "0123456789") != "" {
			return id
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeResults prints one line per check, and its evidence indented below it.
func writeResults(w io.Writer, results []*checkResult) {
	for _, r := range results {
		fmt.Fprintf(w, "%-4s %-24s %s: %s\n", r.Status, r.ID, r.Title, r.Summary)
		for _, e := range r.Evidence {
			fmt.Fprintf(w, "       %s\n", e)
		}
	}
}

func writeJUnitFile(file, image string, results []*checkResult, total time.Duration) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("--junit: %w", err)
	}
	if err := writeJUnit(f, image, results, total); err != nil {
		f.Close()
		return fmt.Errorf("--junit %s: %w", file, err)
	}
	return f.Close()
}
