package containerdriver

import (
	"encoding/json"
	"fmt"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// JobObjects is everything a run creates in the cluster, in creation order: the objects
// the Job's pod reads, then the Job.
type JobObjects struct {
	Job        *batchv1.Job
	Secrets    []*corev1.Secret
	ConfigMaps []*corev1.ConfigMap
}

// JobName derives the Job's name from the run's identity, the action and the spec hash,
// so a caller that retries after a crash finds the Job it started. At most 30 characters.
func JobName(runID, action, specHash string) string {
	return fmt.Sprintf("cd-%s-%s-%s", contract.ShortHash(runID, 10), action, specHash[:8])
}

// runLabel is the run's value of contract.LabelRunID.
func runLabel(runID string) string { return contract.RunLabel(runID) }

// SpecHash is a digest of everything that shapes the Job except the secret values (see
// withoutSecretValues), so a changed input never re-attaches to an older Job. It names the
// Job and is the Job's spec-hash annotation, both readable by anyone who may read Jobs.
func SpecHash(spec *RunSpec, action string) (string, error) {
	b, err := json.Marshal(struct {
		Spec   *RunSpec
		Action string
	}{withoutSecretValues(spec), action})
	if err != nil {
		return "", fmt.Errorf("hash run spec: %w", err)
	}
	return contract.ShortHash(string(b), 64), nil
}

// BuildJob builds the Job and the objects it needs for spec and action. It is pure: the
// same input gives the same objects. One jobBuilder method per concern adds its objects,
// volumes, mounts, environment and containers; the driver containers are added in the
// order the pod starts them.
func BuildJob(spec *RunSpec, action string) (*JobObjects, error) {
	if action != contract.ActionCreate && action != contract.ActionDestroy && action != contract.ActionPlan {
		return nil, fmt.Errorf("action %q is none of %q, %q and %q", action, contract.ActionCreate, contract.ActionDestroy, contract.ActionPlan)
	}
	if err := validatePlanAction(spec, action); err != nil { // job_plan.go
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	hash, err := SpecHash(spec, action)
	if err != nil {
		return nil, err
	}
	b := newJobBuilder(spec, action, hash)
	for _, step := range []func() error{
		b.addInputs,
		b.addFiles,
		b.addEnv,
		b.addOutputsFetcher,
		b.addPreChecks,
		b.addGitInit,
		b.addStateRestore,
		b.addDeployerInputs,
		b.addPlanArtifact,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return b.finish()
}

// jobBuilder accumulates the parts of one run's Job while BuildJob runs.
type jobBuilder struct {
	spec         *RunSpec
	action, name string
	hash         string
	ns, shared   string
	sidecarImage string
	labels       map[string]string
	objs         *JobObjects

	volumes        []corev1.Volume
	initContainers []corev1.Container
	runnerEnv      []corev1.EnvVar
	runnerMounts   []corev1.VolumeMount
	// stateMount is the state directory's mount, when the run keeps state.
	stateMount *corev1.VolumeMount
	creds      *ResolvedCredentials
}

func newJobBuilder(spec *RunSpec, action, hash string) *jobBuilder {
	name := JobName(spec.RunID, action, hash)
	image := spec.SidecarImage
	if image == "" {
		image = DefaultSidecarImageRepository + ":latest"
	}
	b := &jobBuilder{
		spec: spec, action: action, name: name, hash: hash,
		ns: spec.Namespace(), shared: spec.Job.SharedDirectory, sidecarImage: image,
		labels: map[string]string{
			contract.LabelManagedBy: contract.ManagedByValue,
			contract.LabelRunID:     runLabel(spec.RunID),
			contract.LabelAction:    action,
			contract.LabelJob:       name,
		},
		objs:         &JobObjects{},
		volumes:      []corev1.Volume{{Name: contract.SharedVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		runnerEnv:    contractEnv(spec, action),
		runnerMounts: []corev1.VolumeMount{{Name: contract.SharedVolume, MountPath: spec.Job.SharedDirectory}},
	}
	if spec.State != nil {
		b.stateMount = &corev1.VolumeMount{Name: contract.StateVolume, MountPath: spec.State.Path}
	}
	return b
}

// meta is the metadata of an object of the run with the given role.
func (b *jobBuilder) meta(objName, role string) metav1.ObjectMeta {
	l := map[string]string{contract.LabelRole: role}
	for k, v := range b.labels {
		l[k] = v
	}
	return metav1.ObjectMeta{Name: objName, Namespace: b.ns, Labels: l}
}

func (b *jobBuilder) sharedMount() corev1.VolumeMount {
	return corev1.VolumeMount{Name: contract.SharedVolume, MountPath: b.shared}
}

// finish adds the runner, merges the pod templates and makes the Job.
func (b *jobBuilder) finish() (*JobObjects, error) {
	var podSecurity *corev1.PodSecurityContext
	runner := b.runner()
	if b.spec.Contract == ContractContainerDeployer {
		// The container deployer runs its images as user 1000, group 3000, fsGroup 2000.
		runner.SecurityContext.RunAsGroup = ptr.To[int64](3000)
		podSecurity = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000)}
	}
	podLabels := map[string]string{}
	for k, v := range b.labels {
		podLabels[k] = v
	}
	template := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: b.spec.Job.ServiceAccount,
			// Only the containers that need the API get the token (apiaccess.go).
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext:              podSecurity,
			InitContainers:               b.initContainers,
			Containers:                   []corev1.Container{runner},
			Volumes:                      b.volumes,
		},
	}
	template, err := mergePodTemplate(template, b.spec.Job.PodTemplates)
	if err != nil {
		return nil, err
	}
	// Whatever the template says, the pod keeps the labels the executor finds it by.
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	for k, v := range b.labels {
		template.Labels[k] = v
	}
	b.objs.Job = &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: b.name, Namespace: b.ns, Labels: b.labels,
			Annotations: map[string]string{contract.AnnotationSpecHash: b.hash},
		},
		Spec: batchv1.JobSpec{
			// A run is not retried by Kubernetes: IaC must not apply twice behind the caller's back.
			BackoffLimit: ptr.To[int32](0),
			Completions:  ptr.To[int32](1),
			Parallelism:  ptr.To[int32](1),
			Template:     *template,
		},
	}
	sort.SliceStable(b.objs.Secrets, func(i, j int) bool { return b.objs.Secrets[i].Name < b.objs.Secrets[j].Name })
	return b.objs, nil
}
