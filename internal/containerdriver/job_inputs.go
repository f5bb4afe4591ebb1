package containerdriver

import (
	"encoding/json"
	"maps"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The jobBuilder methods that turn the run's inputs into Secrets, ConfigMaps, volumes,
// mounts and environment of the runner.

// addInputs adds the inputs Secret (the resource inputs file) and the API access volume.
func (b *jobBuilder) addInputs() error {
	inputs := b.spec.Inputs
	if m, isMap := inputs.(map[string]any); inputs == nil || (isMap && m == nil) {
		// A nil map in the interface is not == nil, and would be written as null.
		inputs = map[string]any{}
	}
	inputsJSON, err := json.Marshal(inputs)
	if err != nil {
		return fieldError(Root("inputs"), "%v", err)
	}
	name := contract.ObjectName(b.name, contract.RoleInputs)
	b.objs.Secrets = append(b.objs.Secrets, &corev1.Secret{
		ObjectMeta: b.meta(name, contract.RoleInputs),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{contract.InputsFileKey: inputsJSON},
	})
	b.volumes = append(b.volumes,
		corev1.Volume{Name: contract.InputsVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: name, DefaultMode: ptr.To[int32](0o444),
		}}},
		apiAccessVolume(),
	)
	b.runnerMounts = append(b.runnerMounts, corev1.VolumeMount{Name: contract.InputsVolume, MountPath: contract.InputsMountPath, ReadOnly: true})
	if b.spec.Job.MountServiceAccountToken {
		b.runnerMounts = append(b.runnerMounts, apiAccessMount())
	}
	return nil
}

// addFiles adds files (one ConfigMap) and secret files with the credentials' files (one
// Secret); each file is mounted by subPath where it belongs.
func (b *jobBuilder) addFiles() error {
	b.addFileSet(b.spec.Files, false)
	creds, err := b.credentials()
	if err != nil {
		return err
	}
	secretFiles := maps.Clone(b.spec.SecretFiles)
	if secretFiles == nil {
		secretFiles = map[string]string{}
	}
	for k, v := range creds.Files {
		if _, dup := secretFiles[k]; dup {
			return fieldError(Root("credentials_config").Attr("file"), "%q is also a secret file", k)
		}
		secretFiles[k] = v
	}
	b.addFileSet(secretFiles, true)
	return nil
}

// credentials resolves the credentials once per build.
func (b *jobBuilder) credentials() (*ResolvedCredentials, error) {
	if b.creds == nil {
		c, err := b.spec.CredentialsConfig.ResolveCredentials(b.spec.Credentials, b.shared)
		if err != nil {
			return nil, err
		}
		b.creds = c
	}
	return b.creds, nil
}

func (b *jobBuilder) addFileSet(files map[string]string, secret bool) {
	if len(files) == 0 {
		return
	}
	vol, role := contract.FilesVolume, contract.RoleFiles
	if secret {
		vol, role = contract.SecretFiles, contract.RoleSecretFiles
	}
	objName := contract.ObjectName(b.name, role)
	data := map[string][]byte{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		key := fileKey(p)
		data[key] = []byte(files[p])
		b.runnerMounts = append(b.runnerMounts, corev1.VolumeMount{
			Name: vol, MountPath: ResolveFilePath(p, b.shared), SubPath: key, ReadOnly: true,
		})
	}
	if secret {
		b.objs.Secrets = append(b.objs.Secrets, &corev1.Secret{ObjectMeta: b.meta(objName, role), Type: corev1.SecretTypeOpaque, Data: data})
		b.volumes = append(b.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: objName, DefaultMode: ptr.To[int32](0o444),
		}}})
		return
	}
	strData := map[string]string{}
	for k, v := range data {
		strData[k] = string(v)
	}
	b.objs.ConfigMaps = append(b.objs.ConfigMaps, &corev1.ConfigMap{ObjectMeta: b.meta(objName, role), Data: strData})
	b.volumes = append(b.volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: objName}, DefaultMode: ptr.To[int32](0o555),
	}}})
}

// addEnv adds the variables, then the secret variables and the credentials' environment,
// which come from one Secret, by key.
func (b *jobBuilder) addEnv() error {
	for _, k := range slices.Sorted(maps.Keys(b.spec.Job.Variables)) {
		b.runnerEnv = append(b.runnerEnv, corev1.EnvVar{Name: k, Value: b.spec.Job.Variables[k]})
	}
	creds, err := b.credentials()
	if err != nil {
		return err
	}
	secretEnv := maps.Clone(b.spec.Job.SecretVariables)
	if secretEnv == nil {
		secretEnv = map[string]string{}
	}
	maps.Copy(secretEnv, creds.Env)
	if len(secretEnv) == 0 {
		return nil
	}
	objName := contract.ObjectName(b.name, contract.RoleSecretVariables)
	data := map[string][]byte{}
	for _, k := range slices.Sorted(maps.Keys(secretEnv)) {
		data[k] = []byte(secretEnv[k])
		b.runnerEnv = append(b.runnerEnv, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Key: k},
		}})
	}
	b.objs.Secrets = append(b.objs.Secrets, &corev1.Secret{ObjectMeta: b.meta(objName, contract.RoleSecretVariables), Type: corev1.SecretTypeOpaque, Data: data})
	return nil
}

// addDeployerInputs adds the target (a Secret: its content may be a credential), the
// component descriptor and the content blob (a ConfigMap) of the deployer contract.
func (b *jobBuilder) addDeployerInputs() error {
	spec := b.spec
	if spec.Contract != ContractContainerDeployer {
		return nil
	}
	if t := spec.Target; t != nil {
		doc, err := json.Marshal(map[string]any{"target": t.Target, "content": t.Content})
		if err != nil {
			return fieldError(Root("target"), "%v", err)
		}
		objName := contract.ObjectName(b.name, contract.TargetVolume)
		b.objs.Secrets = append(b.objs.Secrets, &corev1.Secret{ObjectMeta: b.meta(objName, contract.TargetVolume), Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{contract.TargetFileKey: doc}})
		b.volumes = append(b.volumes, corev1.Volume{Name: contract.TargetVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: objName, DefaultMode: ptr.To[int32](0o444)}}})
		b.runnerMounts = append(b.runnerMounts, corev1.VolumeMount{Name: contract.TargetVolume, MountPath: contract.TargetMountPath, ReadOnly: true})
	}
	if spec.ComponentDescriptor == "" && len(spec.Content) == 0 {
		return nil
	}
	objName := contract.ObjectName(b.name, contract.DeployerVolume)
	data := map[string]string{}
	if spec.ComponentDescriptor != "" {
		data[contract.ComponentDescriptorFileName] = spec.ComponentDescriptor
		b.runnerMounts = append(b.runnerMounts, corev1.VolumeMount{Name: contract.DeployerVolume, MountPath: path.Join(contract.ComponentDescriptorMount, contract.ComponentDescriptorFileName),
			SubPath: contract.ComponentDescriptorFileName, ReadOnly: true})
	}
	if len(spec.Content) > 0 {
		var items []corev1.KeyToPath
		for _, p := range slices.Sorted(maps.Keys(spec.Content)) {
			k := fileKey(p)
			data[k] = spec.Content[p]
			items = append(items, corev1.KeyToPath{Key: k, Path: p})
		}
		// A second volume of the same ConfigMap: items place each file at its path.
		b.volumes = append(b.volumes, corev1.Volume{Name: contract.DeployerVolume + "-content", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: objName}, Items: items, DefaultMode: ptr.To[int32](0o555)}}})
		b.runnerMounts = append(b.runnerMounts, corev1.VolumeMount{Name: contract.DeployerVolume + "-content", MountPath: contract.ContentMountPath, ReadOnly: true})
	}
	b.objs.ConfigMaps = append(b.objs.ConfigMaps, &corev1.ConfigMap{ObjectMeta: b.meta(objName, contract.DeployerVolume), Data: data})
	b.volumes = append(b.volumes, corev1.Volume{Name: contract.DeployerVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: objName}, DefaultMode: ptr.To[int32](0o444)}}})
	return nil
}

// fileKey is a ConfigMap/Secret key for a file path (keys cannot hold '/').
func fileKey(p string) string {
	return "file-" + contract.ShortHash(p, 16)
}
