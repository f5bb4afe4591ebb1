package contract

import (
	"path"
	"strconv"
)

// The plan action, driver side: what the sidecars and the executor agree on to carry a
// preview's files out of a plan Job, and a previewed artifact into the create that applies
// it. The runner-side names (ActionPlan, PLAN_*) are in contract.go.
const (
	// OperationPlan is ACTION=plan in the container deployer contract (OPERATION=PLAN),
	// with the same PLAN_* variables.
	OperationPlan = "PLAN"

	// RolePlan marks the Secrets outputs-fetcher writes in a plan Job, owned by the Job:
	// the plan text, the summary and the artifact archive, chunked.
	RolePlan = "plan"
	// RolePlanArtifact marks the Secrets holding the artifact handed to a create (owned by
	// its Job), mounted into state-restore, which extracts them into PLAN_ARTIFACT_DIR.
	RolePlanArtifact = "plan-artifact"
	// RolePlanPreview and RolePlanPreviewChunk mark a kept preview (made by the provider,
	// found by LabelPlanID): the head, then the artifact chunks.
	RolePlanPreview      = "plan-preview"
	RolePlanPreviewChunk = "plan-preview-chunk"
	// LabelPlanID is the plan id (the resource's plan_id) of a kept preview.
	LabelPlanID = "containerdriver.io/plan-id"

	// Keys of the plan Secrets.
	KeyPlanText           = "plan.txt"
	KeyPlanSummary        = "plan-summary.json"
	KeyPlanArtifact       = "artifact"
	KeyPlanArtifactSHA256 = "artifact-sha256"
	KeyPlanTruncated      = "plan-truncated"
	KeyPlanGitCommit      = "git-commit"
	KeyPlanImageID        = "image-id"
	KeyPlanImage          = "image"

	// EnvPlanArtifactSource (state-restore) is the directory where the artifact's chunk
	// Secrets are mounted, chunk i at <dir>/<i>/artifact; EnvPlanArtifactSHA256 is the
	// archive's SHA-256, checked before it is extracted.
	EnvPlanArtifactSource = "PLAN_ARTIFACT_SOURCE"
	EnvPlanArtifactSHA256 = "PLAN_ARTIFACT_SHA256"
	PlanArtifactMountPath = "/var/run/containerdriver/plan-artifact"
)

// PlanArtifactChunkMount is where chunk i of a handed artifact is mounted.
func PlanArtifactChunkMount(i int) string {
	return path.Join(PlanArtifactMountPath, strconv.Itoa(i))
}

// PlanObjectName is the base name of a plan Job's plan Secrets.
func PlanObjectName(job string) string { return job + "-plan" }
