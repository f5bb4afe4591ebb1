package containerdriver

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Built is everything a run creates in the cluster, in creation order: the objects the
// Job's pod reads, then the Job.
type Built struct {
	Job        *batchv1.Job
	Secrets    []*corev1.Secret
	ConfigMaps []*corev1.ConfigMap
}

// JobName derives the Job's name from the run's identity, the action and the spec hash,
// so a caller that retries after a crash finds the Job it started. At most 30 characters.
func JobName(runID, action, specHash string) string {
	return fmt.Sprintf("cd-%s-%s-%s", contract.ShortHash(runID, 10), action, specHash[:8])
}

var labelValueRe = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)

// runLabel is the run id itself when it is a valid label value (a UUID is), else its hash.
func runLabel(runID string) string {
	if len(runID) <= 63 && labelValueRe.MatchString(runID) {
		return runID
	}
	return contract.ShortHash(runID, 32)
}

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
// same input gives the same objects.
func BuildJob(spec *RunSpec, action string) (*Built, error) {
	if action != contract.ActionCreate && action != contract.ActionDestroy {
		return nil, fmt.Errorf("action %q is neither %q nor %q", action, contract.ActionCreate, contract.ActionDestroy)
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	hash, err := SpecHash(spec, action)
	if err != nil {
		return nil, err
	}
	name := JobName(spec.RunID, action, hash)
	ns := spec.Namespace()
	shared := spec.Job.SharedDirectory
	labels := map[string]string{
		contract.LabelManagedBy: contract.ManagedByValue,
		contract.LabelRunID:     runLabel(spec.RunID),
		contract.LabelAction:    action,
		contract.LabelJob:       name,
	}
	meta := func(objName, role string) metav1.ObjectMeta {
		l := map[string]string{contract.LabelRole: role}
		for k, v := range labels {
			l[k] = v
		}
		return metav1.ObjectMeta{Name: objName, Namespace: ns, Labels: l}
	}
	b := &Built{}
	inputs := spec.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	inputsJSON, err := json.Marshal(inputs)
	if err != nil {
		return nil, &FieldError{Field: "inputs", Detail: err.Error()}
	}
	inputsSecret := &corev1.Secret{
		ObjectMeta: meta(contract.ObjectName(name, contract.RoleInputs), contract.RoleInputs),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{contract.InputsFileKey: inputsJSON},
	}
	b.Secrets = append(b.Secrets, inputsSecret)

	volumes := []corev1.Volume{
		{Name: contract.SharedVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: contract.InputsVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: inputsSecret.Name, DefaultMode: ptr.To[int32](0o444),
		}}},
		apiAccessVolume(),
	}
	sharedMount := corev1.VolumeMount{Name: contract.SharedVolume, MountPath: shared}
	runnerMounts := []corev1.VolumeMount{
		sharedMount,
		{Name: contract.InputsVolume, MountPath: contract.InputsMountPath, ReadOnly: true},
	}
	if spec.Job.MountServiceAccountToken {
		runnerMounts = append(runnerMounts, apiAccessMount())
	}

	// files: one ConfigMap, one Secret; each file is mounted by subPath where it belongs.
	addFiles := func(files map[string]string, secret bool) {
		if len(files) == 0 {
			return
		}
		vol, role := contract.FilesVolume, contract.RoleFiles
		if secret {
			vol, role = contract.SecretFiles, contract.RoleSecretFiles
		}
		objName := contract.ObjectName(name, role)
		data := map[string][]byte{}
		for _, p := range sortedKeys(files) {
			key := fileKey(p)
			data[key] = []byte(files[p])
			runnerMounts = append(runnerMounts, corev1.VolumeMount{
				Name: vol, MountPath: ResolveFilePath(p, shared), SubPath: key, ReadOnly: true,
			})
		}
		if secret {
			b.Secrets = append(b.Secrets, &corev1.Secret{ObjectMeta: meta(objName, role), Type: corev1.SecretTypeOpaque, Data: data})
			volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: objName, DefaultMode: ptr.To[int32](0o444),
			}}})
			return
		}
		strData := map[string]string{}
		for k, v := range data {
			strData[k] = string(v)
		}
		b.ConfigMaps = append(b.ConfigMaps, &corev1.ConfigMap{ObjectMeta: meta(objName, role), Data: strData})
		volumes = append(volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: objName}, DefaultMode: ptr.To[int32](0o555),
		}}})
	}
	addFiles(spec.Files, false)

	// Secret variables and the credentials' environment come from one Secret, by key.
	creds, err := spec.CredentialsConfig.ResolveCredentials(spec.Credentials, shared)
	if err != nil {
		return nil, err
	}
	secretFiles := map[string]string{}
	for k, v := range spec.SecretFile {
		secretFiles[k] = v
	}
	for k, v := range creds.Files {
		if _, dup := secretFiles[k]; dup {
			return nil, &FieldError{Field: "credentials_config.file", Detail: fmt.Sprintf("%q is also a secret file", k)}
		}
		secretFiles[k] = v
	}
	addFiles(secretFiles, true)

	runnerEnv := contractEnv(spec, action)
	for _, k := range sortedKeys(spec.Job.Variables) {
		runnerEnv = append(runnerEnv, corev1.EnvVar{Name: k, Value: spec.Job.Variables[k]})
	}
	secretEnv := map[string]string{}
	for k, v := range spec.Job.SecretVariables {
		secretEnv[k] = v
	}
	for k, v := range creds.Env {
		secretEnv[k] = v
	}
	if len(secretEnv) > 0 {
		objName := contract.ObjectName(name, contract.RoleSecretVariables)
		data := map[string][]byte{}
		for _, k := range sortedKeys(secretEnv) {
			data[k] = []byte(secretEnv[k])
			runnerEnv = append(runnerEnv, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Key: k},
			}})
		}
		b.Secrets = append(b.Secrets, &corev1.Secret{ObjectMeta: meta(objName, contract.RoleSecretVariables), Type: corev1.SecretTypeOpaque, Data: data})
	}

	sidecarImage := spec.SidecarImage
	if sidecarImage == "" {
		sidecarImage = DefaultSidecarImageRepository + ":latest"
	}
	outputsFile := contract.OutputsFile(shared)
	if spec.Contract == ContractContainerDeployer {
		outputsFile = contract.ExportsFile(shared)
	}
	fileEnv := []corev1.EnvVar{
		{Name: contract.EnvScriptsDirectory, Value: shared},
		{Name: contract.EnvOutputsFile, Value: outputsFile},
		{Name: contract.EnvSecretOutputsFile, Value: contract.SecretOutputsFile(shared)},
		{Name: contract.EnvErrorFile, Value: contract.ErrorFile(shared)},
		{Name: contract.EnvGitCommitFile, Value: contract.GitCommitFile(shared)},
	}
	podEnv := []corev1.EnvVar{
		{Name: contract.EnvPodName, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: contract.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}
	fetcherEnv := append(append([]corev1.EnvVar{}, podEnv...),
		corev1.EnvVar{Name: contract.EnvJobName, Value: name},
		corev1.EnvVar{Name: contract.EnvJobUID, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.labels['" + batchv1.ControllerUidLabel + "']",
		}}},
		corev1.EnvVar{Name: contract.EnvOutputsObject, Value: contract.OutputsObjectName(name)},
	)
	fetcherEnv = append(fetcherEnv, fileEnv...)
	if spec.Contract == ContractContainerDeployer {
		fetcherEnv = append(fetcherEnv, corev1.EnvVar{Name: contract.EnvOutputsFormat, Value: contract.OutputsFormatJSONOrYAML})
	}
	var stateMount *corev1.VolumeMount
	stateEnv := func() []corev1.EnvVar {
		return []corev1.EnvVar{
			{Name: contract.EnvStatePath, Value: spec.State.Path},
			{Name: contract.EnvRunID, Value: spec.RunID},
		}
	}
	fetcher := sidecarContainer(contract.ContainerOutputsFetcher, sidecarImage, contract.OutputsFetcherCommand, "64Mi", fetcherEnv, sharedMount, true)
	fetcher.VolumeMounts = append(fetcher.VolumeMounts, apiAccessMount())
	if spec.State != nil {
		stateMount = &corev1.VolumeMount{Name: contract.StateVolume, MountPath: spec.State.Path}
		volumes = append(volumes, corev1.Volume{Name: contract.StateVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		runnerMounts = append(runnerMounts, *stateMount)
		// outputs-fetcher saves the state when the runner has ended, failed or not.
		fetcher.Env = append(fetcher.Env, stateEnv()...)
		fetcher.VolumeMounts = append(fetcher.VolumeMounts, *stateMount)
	}
	initContainers := []corev1.Container{fetcher}
	if !spec.SkipPermissionChecks {
		env := append(append([]corev1.EnvVar{}, podEnv...),
			corev1.EnvVar{Name: contract.EnvServiceAccount, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}})
		env = append(env, fileEnv...)
		if spec.State != nil {
			env = append(env, corev1.EnvVar{Name: contract.EnvStatePath, Value: spec.State.Path})
		}
		checks := sidecarContainer(contract.ContainerPreChecks, sidecarImage, contract.PreChecksCommand, "64Mi", env, sharedMount, false)
		checks.VolumeMounts = append(checks.VolumeMounts, apiAccessMount())
		initContainers = append(initContainers, checks)
	}
	if src := spec.Source; src != nil {
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
			objName := contract.ObjectName(name, contract.RoleSource)
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
			b.Secrets = append(b.Secrets, &corev1.Secret{ObjectMeta: meta(objName, contract.RoleSource), Type: corev1.SecretTypeOpaque, Data: data})
		}
		env = append(env, fileEnv...)
		initContainers = append(initContainers, sidecarContainer(contract.ContainerGitInit, sidecarImage, contract.GitInitCommand, "1Gi", env, sharedMount, false))
	}

	if spec.State != nil {
		env := append(append([]corev1.EnvVar{}, podEnv...), stateEnv()...)
		env = append(env, fileEnv...)
		restore := sidecarContainer(contract.ContainerStateRestore, sidecarImage, contract.StateKeeperCommand, "64Mi", env, sharedMount, false)
		restore.VolumeMounts = append(restore.VolumeMounts, apiAccessMount(), *stateMount)
		initContainers = append(initContainers, restore)
	}
	if spec.Contract == ContractContainerDeployer {
		if err := addDeployerInputs(spec, meta, name, b, &volumes, &runnerMounts); err != nil {
			return nil, err
		}
	}

	runner := corev1.Container{
		Name:                     contract.ContainerRunner,
		Image:                    spec.Job.Image,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Command:                  spec.Job.Command,
		Env:                      runnerEnv,
		VolumeMounts:             runnerMounts,
		Resources:                memoryRequest("1Gi"),
		SecurityContext:          restrictedSecurityContext(),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	var podSecurity *corev1.PodSecurityContext
	if spec.Contract == ContractContainerDeployer {
		// The container deployer runs its images as user 1000, group 3000, fsGroup 2000.
		runner.SecurityContext.RunAsGroup = ptr.To[int64](3000)
		podSecurity = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000)}
	}
	podLabels := map[string]string{}
	for k, v := range labels {
		podLabels[k] = v
	}
	template := &corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
		Spec: corev1.PodSpec{
			RestartPolicy:      corev1.RestartPolicyNever,
			ServiceAccountName: spec.Job.ServiceAccount,
			// Only the containers that need the API get the token (apiaccess.go).
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext:              podSecurity,
			InitContainers:               initContainers,
			Containers:                   []corev1.Container{runner},
			Volumes:                      volumes,
		},
	}
	template, err = mergePodTemplate(template, spec.Job.PodTemplates)
	if err != nil {
		return nil, err
	}
	// Whatever the template says, the pod keeps the labels the executor finds it by.
	if template.Labels == nil {
		template.Labels = map[string]string{}
	}
	for k, v := range labels {
		template.Labels[k] = v
	}

	b.Job = &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, Labels: labels,
			Annotations: map[string]string{contract.AnnotationSpecHash: hash},
		},
		Spec: batchv1.JobSpec{
			// A run is not retried by Kubernetes: IaC must not apply twice behind the caller's back.
			BackoffLimit: ptr.To[int32](0),
			Completions:  ptr.To[int32](1),
			Parallelism:  ptr.To[int32](1),
			Template:     *template,
		},
	}
	sort.SliceStable(b.Secrets, func(i, j int) bool { return b.Secrets[i].Name < b.Secrets[j].Name })
	return b, nil
}

func sidecarContainer(name, image, command, memory string, env []corev1.EnvVar, shared corev1.VolumeMount, native bool) corev1.Container {
	c := corev1.Container{
		Name:                     name,
		Image:                    image,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Command:                  []string{command},
		Env:                      env,
		VolumeMounts:             []corev1.VolumeMount{shared},
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

// restrictedSecurityContext is the specification's container security context; it passes
// the restricted Pod Security Standard.
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

// fileKey is a ConfigMap/Secret key for a file path (keys cannot hold '/').
func fileKey(p string) string {
	return "file-" + contract.ShortHash(p, 16)
}

// contractEnv is the runner's environment of the run's contract.
func contractEnv(spec *RunSpec, action string) []corev1.EnvVar {
	shared := spec.Job.SharedDirectory
	if spec.Contract == ContractContainerDeployer {
		op := contract.OperationReconcile
		if action == contract.ActionDestroy {
			op = contract.OperationDelete
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
		return append(env,
			corev1.EnvVar{Name: contract.EnvPodName, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			corev1.EnvVar{Name: contract.EnvPodNamespace, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			corev1.EnvVar{Name: contract.EnvRunID, Value: spec.RunID},
		)
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
	return env
}

// addDeployerInputs adds the target (a Secret: its content may be a credential), the
// component descriptor and the content blob (a ConfigMap) of the deployer contract.
func addDeployerInputs(spec *RunSpec, meta func(string, string) metav1.ObjectMeta, job string, b *Built, volumes *[]corev1.Volume, mounts *[]corev1.VolumeMount) error {
	if t := spec.Target; t != nil {
		doc, err := json.Marshal(map[string]any{"target": t.Target, "content": t.Content})
		if err != nil {
			return &FieldError{Field: "target", Detail: err.Error()}
		}
		objName := contract.ObjectName(job, contract.TargetVolume)
		b.Secrets = append(b.Secrets, &corev1.Secret{ObjectMeta: meta(objName, contract.TargetVolume), Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{contract.TargetFileKey: doc}})
		*volumes = append(*volumes, corev1.Volume{Name: contract.TargetVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: objName, DefaultMode: ptr.To[int32](0o444)}}})
		*mounts = append(*mounts, corev1.VolumeMount{Name: contract.TargetVolume, MountPath: contract.TargetMountPath, ReadOnly: true})
	}
	if spec.ComponentDescriptor == "" && len(spec.Content) == 0 {
		return nil
	}
	objName := contract.ObjectName(job, contract.DeployerVolume)
	data := map[string]string{}
	if spec.ComponentDescriptor != "" {
		data[contract.ComponentDescriptorFileName] = spec.ComponentDescriptor
		*mounts = append(*mounts, corev1.VolumeMount{Name: contract.DeployerVolume, MountPath: path.Join(contract.ComponentDescriptorMount, contract.ComponentDescriptorFileName),
			SubPath: contract.ComponentDescriptorFileName, ReadOnly: true})
	}
	if len(spec.Content) > 0 {
		var items []corev1.KeyToPath
		for _, p := range sortedKeys(spec.Content) {
			k := fileKey(p)
			data[k] = spec.Content[p]
			items = append(items, corev1.KeyToPath{Key: k, Path: p})
		}
		// A second volume of the same ConfigMap: items place each file at its path.
		*volumes = append(*volumes, corev1.Volume{Name: contract.DeployerVolume + "-content", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Items: items, DefaultMode: ptr.To[int32](0o555)}}})
		*mounts = append(*mounts, corev1.VolumeMount{Name: contract.DeployerVolume + "-content", MountPath: contract.ContentMountPath, ReadOnly: true})
	}
	b.ConfigMaps = append(b.ConfigMaps, &corev1.ConfigMap{ObjectMeta: meta(objName, contract.DeployerVolume), Data: data})
	*volumes = append(*volumes, corev1.Volume{Name: contract.DeployerVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: objName}, DefaultMode: ptr.To[int32](0o444)}}})
	return nil
}
