package containerdriver

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// How the run's inputs become objects, volumes, mounts and environment of the runner
// (job_inputs.go). TestBuildJob diffs whole Jobs; these look at one input at a time.

func buildFor(t *testing.T, spec *RunSpec) (*JobObjects, *corev1.Container) {
	t.Helper()
	b, err := BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range b.Job.Spec.Template.Spec.Containers {
		if c.Name == contract.ContainerRunner {
			return b, &b.Job.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatal("no runner container")
	return nil, nil
}

func secretOf(b *JobObjects, role string) *corev1.Secret {
	for _, s := range b.Secrets {
		if s.Name == contract.ObjectName(b.Job.Name, role) {
			return s
		}
	}
	return nil
}

func configMapOf(b *JobObjects, role string) *corev1.ConfigMap {
	for _, c := range b.ConfigMaps {
		if c.Name == contract.ObjectName(b.Job.Name, role) {
			return c
		}
	}
	return nil
}

func volumeOf(b *JobObjects, name string) *corev1.Volume {
	for i, v := range b.Job.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &b.Job.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// mountsOf lists the runner's mounts of a volume as "path<-subPath".
func mountsOf(c *corev1.Container, volume string) []string {
	var out []string
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			if !m.ReadOnly {
				out = append(out, "WRITABLE "+m.MountPath)
				continue
			}
			out = append(out, m.MountPath+"<-"+m.SubPath)
		}
	}
	return out
}

func TestAddInputs_SecretWithTheInputsFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs any
		want   string
		token  bool
	}{
		{name: "no inputs", want: `{}`},
		{name: "a nil map", inputs: map[string]any(nil), want: `{}`},
		{name: "inputs", inputs: map[string]any{"n": 1, "s": "x"}, want: `{"n":1,"s":"x"}`, token: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := minimalSpec()
			spec.Inputs = tc.inputs
			spec.Job.MountServiceAccountToken = tc.token
			b, runner := buildFor(t, spec)
			s := secretOf(b, contract.RoleInputs)
			if s == nil || string(s.Data[contract.InputsFileKey]) != tc.want {
				t.Fatalf("inputs secret %+v, want %s", s, tc.want)
			}
			v := volumeOf(b, contract.InputsVolume)
			if v == nil || v.Secret == nil || v.Secret.SecretName != s.Name || *v.Secret.DefaultMode != 0o444 {
				t.Errorf("inputs volume %+v", v)
			}
			if d := cmp.Diff([]string{contract.InputsMountPath + "<-"}, mountsOf(runner, contract.InputsVolume)); d != "" {
				t.Errorf("inputs mount (-want +got)\n%s", d)
			}
			mounted := false
			for _, m := range runner.VolumeMounts {
				if reflect.DeepEqual(m, apiAccessMount()) {
					mounted = true
				}
			}
			if mounted != tc.token {
				t.Errorf("service account token mounted %v, want %v", mounted, tc.token)
			}
		})
	}
}

func TestAddInputs_InputsThatAreNotJSON(t *testing.T) {
	spec := minimalSpec()
	spec.Inputs = map[string]any{"f": func() {}}
	_, err := BuildJob(spec, contract.ActionCreate)
	if err == nil || !strings.Contains(err.Error(), "inputs") {
		t.Fatalf("err %v, want one naming inputs", err)
	}
}

func TestAddFiles_ConfigMapAndSecretBySubPath(t *testing.T) {
	spec := minimalSpec()
	spec.Files = map[string]string{"b.txt": "B", "/etc/app/a.conf": "A"}
	spec.SecretFiles = map[string]string{"key.pem": "K3y-pem"}
	b, runner := buildFor(t, spec)

	cm := configMapOf(b, contract.RoleFiles)
	if cm == nil {
		t.Fatal("no files ConfigMap")
	}
	wantCM := map[string]string{fileKey("b.txt"): "B", fileKey("/etc/app/a.conf"): "A"}
	if d := cmp.Diff(wantCM, cm.Data); d != "" {
		t.Errorf("files (-want +got)\n%s", d)
	}
	// Sorted by path; a relative path is in the shared directory.
	wantMounts := []string{"/etc/app/a.conf<-" + fileKey("/etc/app/a.conf"), "/workspace/b.txt<-" + fileKey("b.txt")}
	if d := cmp.Diff(wantMounts, mountsOf(runner, contract.FilesVolume)); d != "" {
		t.Errorf("file mounts (-want +got)\n%s", d)
	}
	if v := volumeOf(b, contract.FilesVolume); v == nil || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("files volume %+v", v)
	}

	s := secretOf(b, contract.RoleSecretFiles)
	if s == nil || string(s.Data[fileKey("key.pem")]) != "K3y-pem" || len(s.Data) != 1 {
		t.Fatalf("secret files %+v", s)
	}
	if d := cmp.Diff([]string{"/workspace/key.pem<-" + fileKey("key.pem")}, mountsOf(runner, contract.SecretFiles)); d != "" {
		t.Errorf("secret file mounts (-want +got)\n%s", d)
	}
	if v := volumeOf(b, contract.SecretFiles); v == nil || v.Secret == nil || v.Secret.SecretName != s.Name {
		t.Errorf("secret files volume %+v", v)
	}
	// Secret content never goes to a ConfigMap.
	for _, c := range b.ConfigMaps {
		for _, v := range c.Data {
			if v == "K3y-pem" {
				t.Errorf("secret file content in ConfigMap %s", c.Name)
			}
		}
	}
}

func TestAddFiles_NoneGiveNoObjects(t *testing.T) {
	b, runner := buildFor(t, minimalSpec())
	if configMapOf(b, contract.RoleFiles) != nil || secretOf(b, contract.RoleSecretFiles) != nil || secretOf(b, contract.RoleSecretVariables) != nil {
		t.Errorf("objects for inputs nobody gave: %d secrets, %d configmaps", len(b.Secrets), len(b.ConfigMaps))
	}
	if volumeOf(b, contract.FilesVolume) != nil || volumeOf(b, contract.SecretFiles) != nil || len(mountsOf(runner, contract.FilesVolume)) > 0 {
		t.Error("volumes for files nobody gave")
	}
}

func TestAddFiles_CredentialsFile(t *testing.T) {
	spec := minimalSpec()
	spec.SecretFiles = map[string]string{"other": "0ther"}
	spec.CredentialsConfig = &CredentialsConfig{File: "creds.json"}
	spec.Credentials = map[string]any{"token": "t0k3n-value"}
	b, runner := buildFor(t, spec)
	s := secretOf(b, contract.RoleSecretFiles)
	if s == nil || !strings.Contains(string(s.Data[fileKey("creds.json")]), "t0k3n-value") || string(s.Data[fileKey("other")]) != "0ther" {
		t.Fatalf("secret files %+v", s)
	}
	if d := cmp.Diff([]string{"/workspace/creds.json<-" + fileKey("creds.json"), "/workspace/other<-" + fileKey("other")}, mountsOf(runner, contract.SecretFiles)); d != "" {
		t.Errorf("mounts (-want +got)\n%s", d)
	}

	spec.SecretFiles = map[string]string{"creds.json": "mine-own"}
	if _, err := BuildJob(spec, contract.ActionCreate); err == nil || !strings.Contains(err.Error(), `creds.json`) || !strings.Contains(err.Error(), "credentials_config.file") {
		t.Errorf("credentials file over a secret file: %v", err)
	}
}

func TestAddEnv_PlainThenSecretByKey(t *testing.T) {
	spec := minimalSpec()
	spec.Job.Variables = map[string]string{"B": "2", "A": "1"}
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cr3t"}
	spec.CredentialsConfig = &CredentialsConfig{Environment: map[string]string{"AWS_KEY": "aws.key"}}
	spec.Credentials = map[string]any{"aws": map[string]any{"key": "k3y"}}
	b, runner := buildFor(t, spec)
	s := secretOf(b, contract.RoleSecretVariables)
	if s == nil {
		t.Fatal("no secret variables Secret")
	}
	if d := cmp.Diff(map[string][]byte{"TOKEN": []byte("s3cr3t"), "AWS_KEY": []byte("k3y")}, s.Data); d != "" {
		t.Errorf("secret variables (-want +got)\n%s", d)
	}
	var got []string
	for _, e := range runner.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			if e.ValueFrom.SecretKeyRef.Name != s.Name || e.ValueFrom.SecretKeyRef.Key != e.Name {
				t.Errorf("%s refers to %+v", e.Name, e.ValueFrom.SecretKeyRef)
			}
			got = append(got, e.Name+" from secret")
		case e.Name == "A" || e.Name == "B":
			got = append(got, e.Name+"="+e.Value)
		}
		if e.Value == "s3cr3t" || e.Value == "k3y" {
			t.Errorf("secret value in plain env %s", e.Name)
		}
	}
	if d := cmp.Diff([]string{"A=1", "B=2", "AWS_KEY from secret", "TOKEN from secret"}, got); d != "" {
		t.Errorf("env (-want +got)\n%s", d)
	}
}

func TestAddDeployerInputs(t *testing.T) {
	t.Run("target, descriptor and content", func(t *testing.T) {
		spec := minimalSpec()
		spec.Contract = ContractContainerDeployer
		spec.Target = &TargetSpec{Target: map[string]any{"kind": "Target"}, Content: "kubeconfig"}
		spec.ComponentDescriptor = `{"component":{}}`
		spec.Content = map[string]string{"dir/b": "B", "a": "A"}
		b, runner := buildFor(t, spec)

		ts := secretOf(b, contract.TargetVolume)
		if ts == nil {
			t.Fatal("no target Secret")
		}
		var doc map[string]any
		if err := json.Unmarshal(ts.Data[contract.TargetFileKey], &doc); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(map[string]any{"target": map[string]any{"kind": "Target"}, "content": "kubeconfig"}, doc); d != "" {
			t.Errorf("target (-want +got)\n%s", d)
		}
		if d := cmp.Diff([]string{contract.TargetMountPath + "<-"}, mountsOf(runner, contract.TargetVolume)); d != "" {
			t.Errorf("target mount (-want +got)\n%s", d)
		}

		cm := configMapOf(b, contract.DeployerVolume)
		if cm == nil {
			t.Fatal("no deployer ConfigMap")
		}
		want := map[string]string{contract.ComponentDescriptorFileName: `{"component":{}}`, fileKey("a"): "A", fileKey("dir/b"): "B"}
		if d := cmp.Diff(want, cm.Data); d != "" {
			t.Errorf("deployer data (-want +got)\n%s", d)
		}
		content := volumeOf(b, contract.DeployerVolume+"-content")
		if content == nil || content.ConfigMap == nil || content.ConfigMap.Name != cm.Name {
			t.Fatalf("content volume %+v", content)
		}
		wantItems := []corev1.KeyToPath{{Key: fileKey("a"), Path: "a"}, {Key: fileKey("dir/b"), Path: "dir/b"}}
		if d := cmp.Diff(wantItems, content.ConfigMap.Items); d != "" {
			t.Errorf("content items (-want +got)\n%s", d)
		}
		if d := cmp.Diff([]string{contract.ContentMountPath + "<-"}, mountsOf(runner, contract.DeployerVolume+"-content")); d != "" {
			t.Errorf("content mount (-want +got)\n%s", d)
		}
		if d := cmp.Diff([]string{contract.ComponentDescriptorMount + "/" + contract.ComponentDescriptorFileName + "<-" + contract.ComponentDescriptorFileName},
			mountsOf(runner, contract.DeployerVolume)); d != "" {
			t.Errorf("descriptor mount (-want +got)\n%s", d)
		}
	})
	t.Run("content only", func(t *testing.T) {
		spec := minimalSpec()
		spec.Contract = ContractContainerDeployer
		spec.Content = map[string]string{"a": "A"}
		b, runner := buildFor(t, spec)
		if cm := configMapOf(b, contract.DeployerVolume); cm == nil || cm.Data[fileKey("a")] != "A" || len(cm.Data) != 1 {
			t.Errorf("deployer ConfigMap %+v", cm)
		}
		if len(mountsOf(runner, contract.DeployerVolume)) != 0 || len(mountsOf(runner, contract.DeployerVolume+"-content")) != 1 {
			t.Errorf("mounts %v", runner.VolumeMounts)
		}
		if secretOf(b, contract.TargetVolume) != nil {
			t.Error("a target Secret without a target")
		}
	})
	t.Run("target only", func(t *testing.T) {
		spec := minimalSpec()
		spec.Contract = ContractContainerDeployer
		spec.Target = &TargetSpec{Target: map[string]any{}}
		b, _ := buildFor(t, spec)
		if secretOf(b, contract.TargetVolume) == nil {
			t.Error("no target Secret")
		}
		if configMapOf(b, contract.DeployerVolume) != nil || volumeOf(b, contract.DeployerVolume) != nil {
			t.Error("a deployer ConfigMap without descriptor or content")
		}
	})
}

func TestFileKey_ValidAndDistinctKeys(t *testing.T) {
	seen := map[string]string{}
	for _, p := range []string{"a", "/a", "dir/a", "dir/../a", "a b"} {
		k := fileKey(p)
		if strings.ContainsAny(k, "/ ") || !strings.HasPrefix(k, "file-") || len(k) != len("file-")+16 {
			t.Errorf("fileKey(%q) = %q is not a valid object key", p, k)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%q and %q share key %s", p, other, k)
		}
		seen[k] = p
	}
}
