package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
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

	// planWatched are the plans run between two snapshots of the namespace's Secrets and
	// ConfigMaps, planChanges what changed across them, planWatchErr why none was taken.
	planWatched  []string
	planChanges  []string
	planWatchErr error
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
	c.base.PlanSupport = o.plan
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

// runAll runs the sequence: create, create again, update, invalid inputs, destroy, create
// after the destroy and its destroy, then the non-root probe; each run feeds the checks
// that judge it.
func (c *checker) runAll(ctx context.Context) {
	before, snapErr := snapshot(ctx, c.client, c.env.namespace)

	// With --plan, the first create is planned first, as terraform plan does.
	var first *planRun
	planOK := false
	if c.o.plan {
		first = c.plan(ctx, "plan #1 (of the first create)", c.inputs, false, c.previewID(1))
		planOK = c.judgePlan(first)
	} else {
		for _, id := range planChecks {
			c.set(id, statusWarn, notDeclaredSummary)
		}
	}

	created := c.exec(ctx, "create #1", c.inputs, contract.ActionCreate)
	createdOK := c.judgeCreate(created)
	last := c.inputs
	if createdOK {
		c.judgeIdempotent(created, c.exec(ctx, "create #2 (same inputs)", c.inputs, contract.ActionCreate))
		switch {
		case planOK:
			// The update is planned, and the create applies that plan's artifact.
			u := c.update
			if u == nil {
				u = c.inputs
			}
			second := c.watchedPlan(ctx, "plan #2 (of the update)", u, false, c.previewID(2))
			if second.err != nil {
				c.set(checkPlanApply, statusFail, "the plan of the update failed", c.describeFailure(second.outcome)...)
				if c.update != nil {
					c.judgeUpdate(created, c.exec(ctx, "create #3 (update)", c.update, contract.ActionCreate))
					last = c.update
				}
				break
			}
			applied := c.applyPlan(ctx, "create #3 (update, applying plan #2)", u, second.preview)
			if c.update == nil {
				c.set(checkUpdate, statusWarn, "not checked: give --update-inputs FILE, inputs that differ from --inputs")
			} else if c.judgeUpdate(created, applied) {
				last = c.update
			}
			if applied.err != nil {
				c.judgePlanApply(applied, nil, nil, nil)
				break
			}
			again := c.plan(ctx, "plan #3 (after applying plan #2)", u, false, "")
			stale := c.applyPlan(ctx, "create #4 (applying plan #1, made before create #1: stale)", c.inputs, first.preview)
			if stale.err == nil {
				last = c.inputs
			}
			c.judgePlanApply(applied, again, first, stale)
		case c.update == nil:
			c.set(checkUpdate, statusWarn, "not checked: give --update-inputs FILE, inputs that differ from --inputs")
		default:
			if c.judgeUpdate(created, c.exec(ctx, "create #3 (update)", c.update, contract.ActionCreate)) {
				last = c.update
			}
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
		if planOK {
			c.set(checkPlanApply, statusSkip, "the first create did not succeed")
		}
	}
	if planOK {
		if createdOK {
			c.judgeDestroyPreview(c.watchedPlan(ctx, "plan #4 (destroy preview)", last, true, ""))
		} else {
			c.set(checkPlanDestroy, statusSkip, "the first create did not succeed")
		}
		c.judgePlanNoChange()
		if err := c.ex.DeleteRunPreviews(context.WithoutCancel(ctx), c.env.namespace, c.base.RunID); err != nil {
			fmt.Fprintf(c.progress, "containerdriver check: removing the kept previews: %v\n", err)
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
