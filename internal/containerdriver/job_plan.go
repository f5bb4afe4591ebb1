package containerdriver

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The jobBuilder's part for the plan action: the PLAN_* variables, the plan files
// outputs-fetcher keeps, and the artifact a create is handed.

// PlanSpec is what a plan run (contract.ActionPlan) previews.
type PlanSpec struct {
	// ID keys the kept preview (the resource's plan_id); empty keeps nothing.
	ID string
	// Destroy previews a destroy (PLAN_DESTROY=true) instead of a create.
	Destroy bool
}

// PlanApply is a previewed artifact handed to a create, which applies exactly it.
type PlanApply struct {
	// ID is the preview's plan id.
	ID string
	// Artifact is the archive of the preview's PLAN_ARTIFACT_DIR; SHA256 is its digest,
	// which is what the spec hash (and so the Job's name) takes of it.
	Artifact []byte `json:"-"`
	SHA256   string
}

// NewPlanApply hands artifact (of the preview id) to a create.
func NewPlanApply(id string, artifact []byte) *PlanApply {
	sum := sha256.Sum256(artifact)
	return &PlanApply{ID: id, Artifact: artifact, SHA256: hex.EncodeToString(sum[:])}
}

func validatePlanAction(spec *RunSpec, action string) error {
	if spec.Plan != nil && action != contract.ActionPlan {
		return fmt.Errorf("a plan spec is for action %q only, not %q", contract.ActionPlan, action)
	}
	if a := spec.PlanApply; a != nil {
		if action != contract.ActionCreate {
			return fmt.Errorf("a plan artifact is handed to action %q only, not %q", contract.ActionCreate, action)
		}
		if sum := sha256.Sum256(a.Artifact); hex.EncodeToString(sum[:]) != a.SHA256 {
			return fmt.Errorf("the plan artifact of plan %s does not match its checksum", a.ID)
		}
	}
	return nil
}

// planRunnerEnv is the runner's PLAN_* environment: in a plan run, where to write the plan;
// in a create handed an artifact, where it is. Other runs get none.
func planRunnerEnv(spec *RunSpec, action string) []corev1.EnvVar {
	shared := spec.Job.SharedDirectory
	switch {
	case action == contract.ActionPlan:
		destroy := spec.Plan != nil && spec.Plan.Destroy
		return []corev1.EnvVar{
			{Name: contract.EnvPlanDestroy, Value: strconv.FormatBool(destroy)},
			{Name: contract.EnvPlanFile, Value: contract.PlanFile(shared)},
			{Name: contract.EnvPlanSummaryFile, Value: contract.PlanSummaryFile(shared)},
			{Name: contract.EnvPlanArtifactDir, Value: contract.PlanArtifactDir(shared)},
		}
	case action == contract.ActionCreate && spec.PlanApply != nil:
		return []corev1.EnvVar{
			{Name: contract.EnvPlanApply, Value: "true"},
			{Name: contract.EnvPlanArtifactDir, Value: contract.PlanArtifactDir(shared)},
		}
	}
	return nil
}

// planFetcherEnv tells outputs-fetcher, in a plan run, which files to keep.
func (b *jobBuilder) planFetcherEnv() []corev1.EnvVar {
	if b.action != contract.ActionPlan {
		return nil
	}
	return []corev1.EnvVar{
		{Name: contract.EnvPlanFile, Value: contract.PlanFile(b.shared)},
		{Name: contract.EnvPlanSummaryFile, Value: contract.PlanSummaryFile(b.shared)},
		{Name: contract.EnvPlanArtifactDir, Value: contract.PlanArtifactDir(b.shared)},
	}
}

// planGitEnv tells git-init which places of the shared directory the plan action takes,
// so that a repository's files of those names are not copied there: in a plan run the
// plan files and the artifact directory, in a create handed an artifact its directory.
func (b *jobBuilder) planGitEnv() []corev1.EnvVar {
	switch {
	case b.action == contract.ActionPlan:
		return b.planFetcherEnv()
	case b.action == contract.ActionCreate && b.spec.PlanApply != nil:
		return []corev1.EnvVar{{Name: contract.EnvPlanArtifactDir, Value: contract.PlanArtifactDir(b.shared)}}
	}
	return nil
}

// planRestoreEnv tells state-restore to make PLAN_ARTIFACT_DIR (plan run) and to fill it
// with the handed artifact (create with PlanApply); nil when neither.
func (b *jobBuilder) planRestoreEnv() []corev1.EnvVar {
	dir := corev1.EnvVar{Name: contract.EnvPlanArtifactDir, Value: contract.PlanArtifactDir(b.shared)}
	switch {
	case b.action == contract.ActionPlan:
		return []corev1.EnvVar{dir}
	case b.action == contract.ActionCreate && b.spec.PlanApply != nil:
		return []corev1.EnvVar{dir,
			{Name: contract.EnvPlanArtifactSource, Value: contract.PlanArtifactMountPath},
			{Name: contract.EnvPlanArtifactSHA256, Value: b.spec.PlanApply.SHA256},
		}
	}
	return nil
}

// addPlanArtifact puts a handed artifact in Secrets owned by the Job, chunked, mounted
// into state-restore (which extracts it into PLAN_ARTIFACT_DIR), never into the runner.
func (b *jobBuilder) addPlanArtifact() error {
	a := b.spec.PlanApply
	if a == nil || b.action != contract.ActionCreate {
		return nil
	}
	var restore *corev1.Container
	for i := range b.initContainers {
		if b.initContainers[i].Name == contract.ContainerStateRestore {
			restore = &b.initContainers[i]
		}
	}
	if restore == nil {
		return fmt.Errorf("internal error: no %s container to restore the plan artifact", contract.ContainerStateRestore)
	}
	base := contract.ObjectName(b.name, contract.RolePlanArtifact)
	for i, c := range contract.Chunks(a.Artifact, contract.ChunkSize) {
		name := contract.ChunkName(base, i)
		vol := fmt.Sprintf("%s-%d", contract.RolePlanArtifact, i)
		meta := b.meta(name, contract.RolePlanArtifact)
		meta.Labels[contract.LabelChunkIndex] = strconv.Itoa(i)
		b.objs.Secrets = append(b.objs.Secrets, &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{contract.KeyPlanArtifact: c}})
		b.volumes = append(b.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: name, DefaultMode: ptr.To[int32](0o444)}}})
		restore.VolumeMounts = append(restore.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: contract.PlanArtifactChunkMount(i), ReadOnly: true})
	}
	return nil
}
