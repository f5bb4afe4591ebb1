package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The plan checks (--plan): what a runner that declares plan support must do with
// ACTION=plan and PLAN_APPLY (docs/guides/contract.md, "The plan action").
const (
	checkPlan          = "plan"
	checkPlanNoChange  = "plan-changes-nothing"
	checkPlanApply     = "plan-applied-as-shown"
	checkPlanDestroy   = "destroy-preview"
	notDeclaredSummary = "not checked: the runner does not declare plan support (give --plan when it implements ACTION=plan)"
)

var planChecks = []string{checkPlan, checkPlanNoChange, checkPlanApply, checkPlanDestroy}

func init() {
	checkOrder = append(checkOrder, planChecks...)
	checkTitles[checkPlan] = "ACTION=plan writes a valid PLAN_FILE and PLAN_SUMMARY_FILE"
	checkTitles[checkPlanNoChange] = "a plan changes nothing: the state directory and the runner's Secrets and ConfigMaps are the same after it"
	checkTitles[checkPlanApply] = "a create handed the plan's artifact applies exactly it"
	checkTitles[checkPlanDestroy] = "a destroy preview (PLAN_DESTROY=true) writes a valid plan"
}

// planRun is one plan run and, when it was kept, its preview with the artifact.
type planRun struct {
	*outcome
	preview *containerdriver.Preview
}

func (p *planRun) summary() string {
	s := p.res.Plan.Summary
	return fmt.Sprintf("add %d, change %d, destroy %d, has_changes %t", s.Add, s.Change, s.Destroy, s.HasChanges)
}

// plan runs the plan action; with keep, the preview is kept under id (as the provider
// keeps it) and read back with its artifact, for a create to apply.
func (c *checker) plan(ctx context.Context, label string, inputs map[string]any, destroy bool, id string) *planRun {
	spec := c.base
	spec.Plan = &containerdriver.PlanSpec{ID: id, Destroy: destroy}
	r := &planRun{outcome: c.execSpec(ctx, label, &spec, inputs, contract.ActionPlan)}
	if r.err != nil || id == "" {
		return r
	}
	p, err := c.ex.LoadPreview(ctx, c.env.namespace, id, true)
	if err == nil && p == nil {
		err = fmt.Errorf("the preview of %s was not kept", label)
	}
	r.preview, r.err = p, err
	return r
}

// previewID is the id the check keeps a preview under.
func (c *checker) previewID(n int) string { return fmt.Sprintf("%s-check-%d", c.base.RunID, n) }

// applyPlan runs a create handed a kept preview's artifact, at the commit and image digest
// the preview ran, as the provider does.
func (c *checker) applyPlan(ctx context.Context, label string, inputs map[string]any, p *containerdriver.Preview) *outcome {
	spec := c.base
	if c.base.Source != nil {
		src := *c.base.Source
		spec.Source = &src
	}
	if spec.Source != nil && p.GitCommit != "" {
		spec.Source.Ref = p.GitCommit
	}
	if img, ok := containerdriver.PinnedImage(spec.Job.Image, p.ImageID); ok {
		spec.Job.Image = img
	}
	spec.PlanApply = containerdriver.NewPlanApply(p.ID, p.Artifact)
	return c.execSpec(ctx, label, &spec, inputs, contract.ActionCreate)
}

func (c *checker) judgePlan(p *planRun) bool {
	if p.err != nil {
		c.set(checkPlan, statusFail, "the plan of the first create failed", c.describeFailure(p.outcome)...)
		for _, id := range planChecks[1:] {
			c.set(id, statusSkip, "the plan of the first create did not succeed")
		}
		return false
	}
	ev := []string{"summary: " + p.summary(), fmt.Sprintf("artifact: %d bytes (compressed)", p.res.Plan.ArtifactBytes)}
	ev = append(ev, c.planText(p.res.Plan)...)
	summary := fmt.Sprintf("the plan of the first create succeeded in %v", p.took)
	st := statusPass
	if !p.res.Plan.Summary.HasChanges {
		st, summary = statusWarn, summary+", but says has_changes false for a create from nothing"
	}
	c.set(checkPlan, st, summary, ev...).Duration = p.took
	return true
}

// planText is the first lines of a plan's (masked) text, as evidence.
func (c *checker) planText(p *containerdriver.PlanResult) []string {
	text := strings.TrimRight(c.log.mask(p.Text), "\n")
	if text == "" {
		return []string{"PLAN_FILE: empty"}
	}
	lines := strings.Split(text, "\n")
	if len(lines) > 6 {
		lines = append(lines[:6], fmt.Sprintf("... (%d more lines)", len(lines)-6))
	}
	return append([]string{"PLAN_FILE:"}, lines...)
}

// stateObjects is the content of the Secrets and ConfigMaps of a namespace a runner may
// keep its state in (a backend's state Secret, the driver's saved state directory), by
// kind and name: a digest of the data and labels. The objects of Jobs and kept previews,
// which the driver makes and removes itself, are left out.
func stateObjects(ctx context.Context, c kubernetes.Interface, ns string) (map[string]string, error) {
	out := map[string]string{}
	skip := func(l map[string]string) bool { return l[contract.LabelJob] != "" || l[contract.LabelPlanID] != "" }
	secrets, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	for _, o := range secrets.Items {
		if !skip(o.Labels) {
			out["Secret "+o.Name] = digestOf(o.Labels, o.Data)
		}
	}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list configmaps: %w", err)
	}
	for _, o := range cms.Items {
		if skip(o.Labels) {
			continue
		}
		data := map[string][]byte{}
		for k, v := range o.Data {
			data[k] = []byte(v)
		}
		for k, v := range o.BinaryData {
			data["binary:"+k] = v
		}
		out["ConfigMap "+o.Name] = digestOf(o.Labels, data)
	}
	return out, nil
}

func digestOf(labels map[string]string, data map[string][]byte) string {
	h := sha256.New()
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "label %q=%q\n", k, labels[k])
	}
	keys = keys[:0]
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "data %q %d:", k, len(data[k]))
		h.Write(data[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stateChanges describes how the state objects differ, naming objects, never content.
func stateChanges(before, after map[string]string) []string {
	var out []string
	for k, d := range after {
		switch b, ok := before[k]; {
		case !ok:
			out = append(out, k+" was created")
		case b != d:
			out = append(out, k+" was changed")
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, k+" was deleted")
		}
	}
	sort.Strings(out)
	return out
}

// watchedPlan runs a plan between two snapshots of the state objects and records what
// changed in c.planChanges (nil snapshots: the namespace could not be listed).
func (c *checker) watchedPlan(ctx context.Context, label string, inputs map[string]any, destroy bool, id string) *planRun {
	before, err := stateObjects(ctx, c.client, c.env.namespace)
	p := c.plan(ctx, label, inputs, destroy, id)
	var after map[string]string
	if err == nil {
		after, err = stateObjects(ctx, c.client, c.env.namespace)
	}
	if err != nil {
		c.planWatchErr = err
		return p
	}
	c.planWatched = append(c.planWatched, label)
	for _, ch := range stateChanges(before, after) {
		c.planChanges = append(c.planChanges, fmt.Sprintf("[%s] %s", label, ch))
	}
	return p
}

func (c *checker) judgePlanNoChange() {
	switch {
	case len(c.planChanges) > 0:
		c.set(checkPlanNoChange, statusFail, "a plan changed what the runs keep: ACTION=plan must change nothing", c.planChanges...)
	case c.planWatchErr != nil:
		c.set(checkPlanNoChange, statusWarn, "not checked: the namespace could not be listed: "+c.planWatchErr.Error())
	case len(c.planWatched) == 0:
		c.set(checkPlanNoChange, statusSkip, "no plan ran after a create")
	default:
		c.set(checkPlanNoChange, statusPass, fmt.Sprintf("every Secret and ConfigMap of the namespace (the state directory's and the runner's own state included) was the same after %s",
			strings.Join(c.planWatched, " and ")))
	}
}

// judgePlanApply judges a create handed a plan's artifact (applied), the plan of the same
// inputs after it (again: no changes left), and a create handed an artifact planned
// before the state changed (stale: refused).
func (c *checker) judgePlanApply(applied *outcome, again, stale *planRun, staleApply *outcome) {
	if applied.err != nil {
		c.set(checkPlanApply, statusFail, "the create handed the plan's artifact (PLAN_APPLY=true) failed", c.describeFailure(applied)...)
		return
	}
	var fails, ev []string
	ev = append(ev, fmt.Sprintf("the create handed the artifact succeeded in %v", applied.took))
	switch {
	case again.err != nil:
		fails = append(fails, "the plan after it failed")
		ev = append(ev, c.describeFailure(again.outcome)...)
	case again.res.Plan.Summary.HasChanges:
		fails = append(fails, "a plan of the same inputs after it still has changes")
		ev = append(ev, "plan after the apply: "+again.summary())
		ev = append(ev, c.planText(again.res.Plan)...)
	default:
		ev = append(ev, "a plan of the same inputs after it: "+again.summary())
	}
	switch re := staleApply.runErr(); {
	case staleApply.err == nil:
		fails = append(fails, "a create handed a stale artifact succeeded: it must fail when the artifact no longer fits, not plan anew")
		ev = append(ev, fmt.Sprintf("the artifact of the first plan (%s, made before the first create) was applied after the update", stale.summary()))
	case re != nil && re.Container == contract.ContainerRunner && re.ExitCode != nil && *re.ExitCode != 0:
		ev = append(ev, fmt.Sprintf("a create handed the first plan's artifact (made before the first create) failed, exit code %d: %s",
			*re.ExitCode, firstLine(c.log.mask(re.ErrorFile))))
	default:
		fails = append(fails, "a create handed a stale artifact did not fail by the runner's non-zero exit")
		ev = append(ev, c.describeFailure(staleApply)...)
	}
	if len(fails) > 0 {
		c.set(checkPlanApply, statusFail, strings.Join(fails, "; "), ev...)
		return
	}
	c.set(checkPlanApply, statusPass, "it applied the plan, left no changes, and refused a stale artifact", ev...).Duration = applied.took
}

func (c *checker) judgeDestroyPreview(p *planRun) {
	if p.err != nil {
		c.set(checkPlanDestroy, statusFail, "the destroy preview failed", c.describeFailure(p.outcome)...)
		return
	}
	ev := append([]string{"summary: " + p.summary()}, c.planText(p.res.Plan)...)
	c.set(checkPlanDestroy, statusPass, fmt.Sprintf("succeeded in %v", p.took), ev...).Duration = p.took
}
