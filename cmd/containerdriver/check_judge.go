package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

func (c *checker) judgeCreate(r *outcome) bool {
	if r.err == nil {
		c.set(checkCreate, statusPass, fmt.Sprintf("succeeded in %v (exit code %d, uid 1000, restricted security context)", r.took, r.res.ExitCode)).Duration = r.took
		c.judgeOutputs(r.res)
		return true
	}
	re := r.runErr()
	if re != nil && re.Reason == containerdriver.ReasonInvalidOutputs {
		// The runner exited 0: what broke is its output files.
		c.set(checkCreate, statusPass, fmt.Sprintf("the runner exited 0 in %v", r.took))
		size, other := splitProblems(re.Problems)
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
func splitProblems(problems []containerdriver.OutputProblem) (size, other []string) {
	for _, p := range problems {
		if p.Kind == containerdriver.ProblemTooLarge {
			size = append(size, p.Detail)
		} else {
			other = append(other, p.Detail)
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
