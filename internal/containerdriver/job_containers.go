package containerdriver

import (
	"path"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The jobBuilder methods that add the pod's containers: the driver's init containers in
// their order (outputs-fetcher as a native sidecar, pre-checks, git-init, state-restore),
// then the runner. docs/guides/contract.md describes them.

// fileEnv tells a driver container where the runner's files are.
func (b *jobBuilder) fileEnv() []corev1.EnvVar {
	outputsFile := contract.OutputsFile(b.shared)
	if b.spec.Contract == ContractContainerDeployer {
		outputsFile = contract.ExportsFile(b.shared)
	}
	return []corev1.EnvVar{
		{Name: contract.EnvScriptsDirectory, Value: b.shared},
		{Name: contract.EnvOutputsFile, Value: outputsFile},
		{Name: contract.EnvSecretOutputsFile, Value: contract.SecretOutputsFile(b.shared)},
		{Name: contract.EnvErrorFile, Value: contract.ErrorFile(b.shared)},
		{Name: contract.EnvGitCommitFile, Value: contract.GitCommitFile(b.shared)},
	}
}

// podEnv is the pod's name and namespace from the downward API.
func podEnv() []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: contract.EnvPodName, ValueFrom: fieldRef("metadata.name")},
		{Name: contract.EnvPodNamespace, ValueFrom: fieldRef("metadata.namespace")},
	}
}

func fieldRef(p string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p}}
}

func (b *jobBuilder) stateEnv() []corev1.EnvVar {
	return []corev1.EnvVar{
		{Name: contract.EnvStatePath, Value: b.spec.State.Path},
		{Name: contract.EnvRunID, Value: b.spec.RunID},
	}
}

// addOutputsFetcher adds outputs-fetcher, a native sidecar that waits for the runner and
// keeps its outputs (and its state, when the run keeps state, failed or not).
func (b *jobBuilder) addOutputsFetcher() error {
	env := append(podEnv(),
		corev1.EnvVar{Name: contract.EnvJobName, Value: b.name},
		corev1.EnvVar{Name: contract.EnvJobUID, ValueFrom: fieldRef("metadata.labels['" + batchv1.ControllerUidLabel + "']")},
		corev1.EnvVar{Name: contract.EnvOutputsObject, Value: contract.OutputsObjectName(b.name)},
	)
	env = append(env, b.fileEnv()...)
	if b.spec.Contract == ContractContainerDeployer {
		env = append(env, corev1.EnvVar{Name: contract.EnvOutputsFormat, Value: contract.OutputsFormatJSONOrYAML})
	}
	fetcher := b.sidecarContainer(contract.ContainerOutputsFetcher, contract.OutputsFetcherCommand, "64Mi", env, true)
	fetcher.VolumeMounts = append(fetcher.VolumeMounts, apiAccessMount())
	if b.stateMount != nil {
		b.volumes = append(b.volumes, corev1.Volume{Name: contract.StateVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		b.runnerMounts = append(b.runnerMounts, *b.stateMount)
		if b.action != contract.ActionPlan { // a plan reads the state and never saves it
			fetcher.Env = append(fetcher.Env, b.stateEnv()...)
			fetcher.VolumeMounts = append(fetcher.VolumeMounts, *b.stateMount)
		}
	}
	fetcher.Env = append(fetcher.Env, b.planFetcherEnv()...) // job_plan.go
	b.initContainers = append(b.initContainers, fetcher)
	return nil
}

// addPreChecks adds pre-checks, which checks the service account's rights, unless skipped.
func (b *jobBuilder) addPreChecks() error {
	if b.spec.SkipPermissionChecks {
		return nil
	}
	env := append(podEnv(), corev1.EnvVar{Name: contract.EnvServiceAccount, ValueFrom: fieldRef("spec.serviceAccountName")})
	env = append(env, b.fileEnv()...)
	if b.spec.State != nil {
		env = append(env, corev1.EnvVar{Name: contract.EnvStatePath, Value: b.spec.State.Path})
	}
	checks := b.sidecarContainer(contract.ContainerPreChecks, contract.PreChecksCommand, "64Mi", env, false)
	checks.VolumeMounts = append(checks.VolumeMounts, apiAccessMount())
	b.initContainers = append(b.initContainers, checks)
	return nil
}

// addGitInit adds git-init, which checks out the source, with its credentials in a Secret.
func (b *jobBuilder) addGitInit() error {
	src := b.spec.Source
	if src == nil {
		return nil
	}
	username := src.Username
	if username == "" {
		username = "git"
	}
	env := []corev1.EnvVar{
		{Name: contract.EnvGitURL, Value: src.URL},
		{Name: contract.EnvGitRef, Value: src.Ref},
		{Name: contract.EnvGitPath, Value: src.Path},
		{Name: contract.EnvGitUsername, Value: username},
	}
	if src.KnownHosts != "" {
		env = append(env, corev1.EnvVar{Name: contract.EnvGitKnownHosts, Value: src.KnownHosts})
	}
	if src.Password != "" || src.SSHKey != "" {
		objName := contract.ObjectName(b.name, contract.RoleSource)
		data := map[string][]byte{}
		for _, kv := range []struct{ env, key, val string }{
			{contract.EnvGitPassword, "password", src.Password},
			{contract.EnvGitSSHKey, "ssh-key", src.SSHKey},
		} {
			if kv.val == "" {
				continue
			}
			data[kv.key] = []byte(kv.val)
			env = append(env, corev1.EnvVar{Name: kv.env, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Key: kv.key,
			}}})
		}
		b.objs.Secrets = append(b.objs.Secrets, &corev1.Secret{ObjectMeta: b.meta(objName, contract.RoleSource), Type: corev1.SecretTypeOpaque, Data: data})
	}
	env = append(env, b.fileEnv()...)
	env = append(env, b.planGitEnv()...)
	b.initContainers = append(b.initContainers, b.sidecarContainer(contract.ContainerGitInit, contract.GitInitCommand, "1Gi", env, false))
	return nil
}

// addStateRestore adds state-restore, which restores the state directory, when the run
// keeps state.
func (b *jobBuilder) addStateRestore() error {
	plan := b.planRestoreEnv() // job_plan.go: it also prepares PLAN_ARTIFACT_DIR
	if b.stateMount == nil && plan == nil {
		return nil
	}
	env := podEnv()
	if b.stateMount != nil {
		env = append(env, b.stateEnv()...)
	}
	env = append(append(env, b.fileEnv()...), plan...)
	restore := b.sidecarContainer(contract.ContainerStateRestore, contract.StateRestoreCommand, "64Mi", env, false)
	restore.VolumeMounts = append(restore.VolumeMounts, apiAccessMount())
	if b.stateMount != nil {
		restore.VolumeMounts = append(restore.VolumeMounts, *b.stateMount)
	}
	b.initContainers = append(b.initContainers, restore)
	return nil
}

// runner is the user's container, with everything the builder gathered for it.
func (b *jobBuilder) runner() corev1.Container {
	return corev1.Container{
		Name:                     contract.ContainerRunner,
		Image:                    b.spec.Job.Image,
		ImagePullPolicy:          ImagePullPolicy(b.spec.Job.Image),
		Command:                  b.spec.Job.Command,
		Env:                      b.runnerEnv,
		VolumeMounts:             b.runnerMounts,
		Resources:                memoryRequest("1Gi"),
		SecurityContext:          restrictedSecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
}

func (b *jobBuilder) sidecarContainer(name, command, memory string, env []corev1.EnvVar, native bool) corev1.Container {
	c := corev1.Container{
		Name:                     name,
		Image:                    b.sidecarImage,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Command:                  []string{command},
		Env:                      append([]corev1.EnvVar{{Name: contract.EnvContractVersion, Value: contract.Version}}, env...),
		VolumeMounts:             []corev1.VolumeMount{b.sharedMount()},
		Resources:                memoryRequest(memory),
		SecurityContext:          restrictedSecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if native {
		c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	}
	return c
}

func memoryRequest(q string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}}
}

// restrictedSecurityContext is the contract's container security context; it passes the
// restricted Pod Security Standard.
func restrictedSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To[int64](1000),
		RunAsGroup:               ptr.To[int64](1000),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// contractEnv is the runner's environment of the run's contract.
func contractEnv(spec *RunSpec, action string) []corev1.EnvVar {
	shared := spec.Job.SharedDirectory
	if spec.Contract == ContractContainerDeployer {
		op := contract.OperationReconcile
		switch action {
		case contract.ActionDestroy:
			op = contract.OperationDelete
		case contract.ActionPlan:
			op = contract.OperationPlan
		}
		env := []corev1.EnvVar{
			{Name: contract.EnvOperation, Value: op},
			{Name: contract.EnvImportsPath, Value: contract.InputsFile()},
			{Name: contract.EnvExportsPath, Value: contract.ExportsFile(shared)},
		}
		if spec.Target != nil {
			env = append(env, corev1.EnvVar{Name: contract.EnvTargetPath, Value: path.Join(contract.TargetMountPath, contract.TargetFileKey)})
		}
		if spec.State != nil {
			env = append(env, corev1.EnvVar{Name: contract.EnvStatePath, Value: spec.State.Path})
		}
		if spec.ComponentDescriptor != "" {
			env = append(env, corev1.EnvVar{Name: contract.EnvComponentDescriptorPath, Value: path.Join(contract.ComponentDescriptorMount, contract.ComponentDescriptorFileName)})
		}
		if len(spec.Content) > 0 {
			env = append(env, corev1.EnvVar{Name: contract.EnvContentPath, Value: contract.ContentMountPath})
		}
		env = append(append(env, podEnv()...), corev1.EnvVar{Name: contract.EnvRunID, Value: spec.RunID})
		return append(env, planRunnerEnv(spec, action)...)
	}
	env := []corev1.EnvVar{
		{Name: contract.EnvAction, Value: action},
		{Name: contract.EnvScriptsDirectory, Value: shared},
		{Name: contract.EnvResourceInputsFile, Value: contract.InputsFile()},
		{Name: contract.EnvOutputsFile, Value: contract.OutputsFile(shared)},
		{Name: contract.EnvSecretOutputsFile, Value: contract.SecretOutputsFile(shared)},
		{Name: contract.EnvErrorFile, Value: contract.ErrorFile(shared)},
		{Name: contract.EnvRunID, Value: spec.RunID},
	}
	if spec.State != nil {
		env = append(env, corev1.EnvVar{Name: contract.EnvStatePath, Value: spec.State.Path})
	}
	return append(env, planRunnerEnv(spec, action)...)
}
