package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The files the helper leaves in PLAN_ARTIFACT_DIR. The lock file goes with the saved plan
// because the tool refuses to apply a plan whose provider selections differ from the lock
// file's: a module without a lock file of its own would otherwise get whatever versions
// are newest when the create runs.
const (
	planArtifactName = "tfplan"
	lockFileName     = ".terraform.lock.hcl"
	// planStateName records which state the saved plan was made against (planState).
	planStateName = "runner-helper.json"
)

// planState is where the state of a saved plan is kept. The saved plan records its
// backend's settings, and `apply PLANFILE` writes the state to that backend, whatever the
// module directory now configures: a plan made with another run id (another kubernetes
// Secret) would create the resources into the state of another run. The helper refuses
// that before the tool runs.
type planState struct {
	Tool string `json:"tool"`
	// State says where, for people (never a -backend-config value: those may be secrets).
	State string `json:"state"`
	// Fingerprint is a hash of the backend override, the -backend-config values and the
	// workspace.
	Fingerprint string `json:"fingerprint"`
}

func (h *helper) planState() planState {
	b, _ := json.Marshal([]any{h.backendDoc, h.cfg.backendConfig, h.workspace()})
	sum := sha256.Sum256(b)
	return planState{Tool: h.cfg.tool, State: h.state, Fingerprint: hex.EncodeToString(sum[:])}
}

// checkPlanState: the saved plan must have been made against this run's state.
func (h *helper) checkPlanState() error {
	b, err := os.ReadFile(filepath.Join(h.cfg.planArtifactDir, planStateName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // not left by this helper: the tool's own checks remain
	}
	if err != nil {
		return fail(1, "read %s of the saved plan: %v", planStateName, err)
	}
	var planned planState
	if err := json.Unmarshal(b, &planned); err != nil {
		return fail(1, "%s of the saved plan is not JSON: %v", planStateName, err)
	}
	cur := h.planState()
	if planned == cur {
		return nil
	}
	where := fmt.Sprintf("against %s, this run's state is %s", planned.State, cur.State)
	if planned.State == cur.State {
		where = fmt.Sprintf("with other settings of %s (-backend-config, TF_WORKSPACE) than this run's", cur.State)
	}
	return fail(1, "the saved plan was made by %s %s: applying it would write to the state it was made against, not to this run's. The plan must run with the create's CONTAINERDRIVER_RUN_ID and backend settings; plan again",
		planned.Tool, where)
}

// plan answers ACTION=plan: what a create (or, with PLAN_DESTROY, a destroy) would do. It
// saves nothing: plan never writes the state (its refresh stays in memory), and the
// backend's lock is taken and released as for any read.
func (h *helper) plan(ctx context.Context) error {
	cfg := h.cfg
	// A create preview leaves the saved plan for the create; a destroy applies none, so a
	// destroy preview keeps its plan in the scratch directory only.
	planPath := filepath.Join(h.tmp, "preview.tfplan")
	keep := !cfg.planDestroy && cfg.planArtifactDir != ""
	if keep {
		if err := os.MkdirAll(cfg.planArtifactDir, 0o755); err != nil {
			return fail(1, "create %s %s: %v", contract.EnvPlanArtifactDir, cfg.planArtifactDir, err)
		}
		planPath = filepath.Join(cfg.planArtifactDir, planArtifactName)
	}
	args := []string{"plan", "-input=false", "-no-color", "-detailed-exitcode", "-out=" + planPath}
	if cfg.planDestroy {
		args = append(args, "-destroy")
	}
	code, err := h.toolExit(ctx, nil, []int{2}, args)
	if err != nil {
		// A failed plan leaves nothing a create could apply.
		_ = os.Remove(planPath)
		return err
	}
	if !keep {
		defer os.Remove(planPath)
	}

	// show renders the saved plan with the tool's own masking of sensitive values; its
	// -json form holds them in clear, so it is only read here, never written or logged.
	var text, js bytes.Buffer
	if _, err := h.tool(ctx, &text, "show", "-no-color", planPath); err != nil {
		return err
	}
	if _, err := h.tool(ctx, &js, "show", "-json", planPath); err != nil {
		return err
	}
	summary, err := summarizePlan(js.Bytes())
	if err != nil {
		return fail(1, "read the plan of %s show -json: %v", cfg.tool, err)
	}
	// The exit code decides: it also counts a change of the outputs alone, which the
	// resource counts do not show.
	summary.HasChanges = code == 2
	if err := os.WriteFile(cfg.planFile, text.Bytes(), 0o644); err != nil {
		return fail(1, "write %s: %v", contract.EnvPlanFile, err)
	}
	if err := writeJSON(cfg.planSummaryFile, summary); err != nil {
		return err
	}
	if keep {
		if err := h.saveLockFile(); err != nil {
			return err
		}
		if err := writeJSON(filepath.Join(cfg.planArtifactDir, planStateName), h.planState()); err != nil {
			return err
		}
	}
	what := "create"
	if cfg.planDestroy {
		what = "destroy"
	}
	h.logf("plan of a %s: %d to add, %d to change, %d to destroy, has changes: %t", what, summary.Add, summary.Change, summary.Destroy, summary.HasChanges)
	if keep {
		h.logf("the saved plan is %s", planPath)
	}
	return nil
}

// summarizePlan counts the resource changes of `show -json`: a replace is one to add and
// one to destroy, as the tool's own "Plan:" line counts it; reads, no-ops and forgets count
// nothing. It reads resource_changes only: OpenTofu's JSON plan has no "applyable".
func summarizePlan(b []byte) (contract.PlanSummary, error) {
	var p struct {
		FormatVersion   string `json:"format_version"`
		ResourceChanges []struct {
			Change struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	var s contract.PlanSummary
	if err := decodeToolJSON(b, &p); err != nil {
		return s, err
	}
	if p.FormatVersion == "" {
		return s, errors.New("no format_version: not a JSON plan")
	}
	for _, rc := range p.ResourceChanges {
		a := rc.Change.Actions
		create, del := slices.Contains(a, "create"), slices.Contains(a, "delete")
		switch {
		case create && del:
			s.Add++
			s.Destroy++
		case create:
			s.Add++
		case del:
			s.Destroy++
		case slices.Contains(a, "update"):
			s.Change++
		}
	}
	return s, nil
}

// checkArtifact: a create handed PLAN_APPLY=true must find the saved plan.
func (h *helper) checkArtifact() error {
	dir := h.cfg.planArtifactDir
	if dir == "" {
		return fail(1, "%s=true but %s is not set: there is no saved plan to apply; runner-helper applies only the plan of the preview, never a new one: plan again",
			contract.EnvPlanApply, contract.EnvPlanArtifactDir)
	}
	p := filepath.Join(dir, planArtifactName)
	if info, err := os.Stat(p); err != nil || !info.Mode().IsRegular() {
		return fail(1, "%s=true but %s holds no saved plan (%s): the preview left none, or it was lost; runner-helper applies only the plan of the preview, never a new one: plan again",
			contract.EnvPlanApply, contract.EnvPlanArtifactDir, p)
	}
	return nil
}

// applyArtifact applies the saved plan as it is. The tool itself refuses a plan made
// against another state ("Saved plan is stale"), another configuration's lock file or
// another version of itself; the helper then fails, and never plans again on its own.
func (h *helper) applyArtifact(ctx context.Context) error {
	p := filepath.Join(h.cfg.planArtifactDir, planArtifactName)
	h.logf("%s=true: applying the saved plan of the preview, %s, as it is", contract.EnvPlanApply, p)
	_, err := h.tool(ctx, nil, "apply", "-input=false", "-no-color", p)
	var f *failure
	if errors.As(err, &f) {
		return fail(f.code, "%s\n\nrunner-helper applied the saved plan of the preview as it is and did not plan again: when the state changed after the preview (the saved plan is stale), plan again.", f.msg)
	}
	return err
}

// saveLockFile keeps the lock file init wrote (or the module brought) beside the saved plan.
func (h *helper) saveLockFile() error {
	b, err := os.ReadFile(filepath.Join(h.dir, lockFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // built-ins only: no provider, no lock file
	}
	if err != nil {
		return fail(1, "read %s: %v", lockFileName, err)
	}
	if err := os.WriteFile(filepath.Join(h.cfg.planArtifactDir, lockFileName), b, 0o644); err != nil {
		return fail(1, "keep %s with the saved plan: %v", lockFileName, err)
	}
	return nil
}

// restoreLockFile puts the preview's lock file into the module directory before init, so
// that init installs the providers the saved plan was made with.
func (h *helper) restoreLockFile() error {
	b, err := os.ReadFile(filepath.Join(h.cfg.planArtifactDir, lockFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fail(1, "read the preview's %s: %v", lockFileName, err)
	}
	dst := filepath.Join(h.dir, lockFileName)
	if cur, err := os.ReadFile(dst); err == nil && bytes.Equal(cur, b) {
		return nil
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return fail(1, "restore the preview's %s into %s: %v", lockFileName, h.dir, err)
	}
	h.logf("restored the lock file of the preview")
	return nil
}
