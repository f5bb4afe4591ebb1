package containerdriver

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

const testSidecar = "example.local/sidecars:1"

func minimalSpec() *RunSpec {
	return &RunSpec{
		RunID: "run-1",
		Job: JobSpec{
			Image:           "example.local/runner:1",
			SharedDirectory: "/workspace",
			ServiceAccount:  "runner",
			Namespace:       "ns",
		},
		SidecarImage: testSidecar,
	}
}

// wantJob is the Job the specification's default pod template gives for minimalSpec,
// written out field by field.
func wantJob(t *testing.T, spec *RunSpec, action string) *batchv1.Job {
	t.Helper()
	hash, err := SpecHash(spec, action)
	if err != nil {
		t.Fatal(err)
	}
	name := JobName(spec.RunID, action, hash)
	labels := map[string]string{
		"app.kubernetes.io/managed-by": "containerdriver",
		"containerdriver.io/run-id":    spec.RunID,
		"containerdriver.io/action":    action,
		"containerdriver.io/job":       name,
	}
	sc := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		RunAsNonRoot:             ptr.To(true),
		RunAsUser:                ptr.To[int64](1000),
		RunAsGroup:               ptr.To[int64](1000),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	mem := func(q string) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(q)}}
	}
	shared := corev1.VolumeMount{Name: "shared-directory", MountPath: "/workspace"}
	api := corev1.VolumeMount{Name: "containerdriver-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}
	field := func(n, p string) corev1.EnvVar {
		return corev1.EnvVar{Name: n, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: p}}}
	}
	files := []corev1.EnvVar{
		{Name: "SCRIPTS_DIRECTORY", Value: "/workspace"},
		{Name: "OUTPUTS_FILE", Value: "/workspace/outputs.json"},
		{Name: "SECRET_OUTPUTS_FILE", Value: "/workspace/secret-outputs.json"},
		{Name: "ERROR_FILE", Value: "/workspace/error.txt"},
		{Name: "GIT_COMMIT_FILE", Value: "/workspace/.containerdriver-git-commit"},
	}
	fetcherEnv := append([]corev1.EnvVar{
		field("POD_NAME", "metadata.name"),
		field("POD_NAMESPACE", "metadata.namespace"),
		{Name: "JOB_NAME", Value: name},
		field("JOB_UID", "metadata.labels['batch.kubernetes.io/controller-uid']"),
		{Name: "OUTPUTS_OBJECT_NAME", Value: name + "-out"},
	}, files...)
	precheckEnv := append([]corev1.EnvVar{
		field("POD_NAME", "metadata.name"),
		field("POD_NAMESPACE", "metadata.namespace"),
		field("SERVICE_ACCOUNT", "spec.serviceAccountName"),
	}, files...)
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: "ns", Labels: labels,
			Annotations: map[string]string{"containerdriver.io/spec-hash": hash},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](0),
			Completions:  ptr.To[int32](1),
			Parallelism:  ptr.To[int32](1),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					ServiceAccountName:           "runner",
					AutomountServiceAccountToken: ptr.To(false),
					Volumes: []corev1.Volume{
						{Name: "shared-directory", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "resource-inputs", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name + "-inputs", DefaultMode: ptr.To[int32](0o444)}}},
						{Name: "containerdriver-api-access", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
							DefaultMode: ptr.To[int32](0o444),
							Sources: []corev1.VolumeProjection{
								{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
								{ConfigMap: &corev1.ConfigMapProjection{
									LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
									Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
								}},
								{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
									Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
								}}}},
							},
						}}},
					},
					InitContainers: []corev1.Container{
						{
							Name: "outputs-fetcher", Image: testSidecar, ImagePullPolicy: corev1.PullIfNotPresent,
							Command: []string{"/opt/container-driver/outputsfetcher"}, RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
							Env: fetcherEnv, VolumeMounts: []corev1.VolumeMount{shared, api}, Resources: mem("64Mi"), SecurityContext: sc,
							TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						},
						{
							Name: "pre-checks", Image: testSidecar, ImagePullPolicy: corev1.PullIfNotPresent,
							Command: []string{"/opt/container-driver/prechecks"},
							Env:     precheckEnv, VolumeMounts: []corev1.VolumeMount{shared, api}, Resources: mem("64Mi"), SecurityContext: sc,
							TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
						},
					},
					Containers: []corev1.Container{{
						Name: "runner", Image: "example.local/runner:1", ImagePullPolicy: corev1.PullIfNotPresent,
						Env: []corev1.EnvVar{
							{Name: "ACTION", Value: action},
							{Name: "SCRIPTS_DIRECTORY", Value: "/workspace"},
							{Name: "RESOURCE_INPUTS_FILE", Value: "/var/run/containerdriver/inputs/inputs.json"},
							{Name: "OUTPUTS_FILE", Value: "/workspace/outputs.json"},
							{Name: "SECRET_OUTPUTS_FILE", Value: "/workspace/secret-outputs.json"},
							{Name: "ERROR_FILE", Value: "/workspace/error.txt"},
							{Name: "CONTAINERDRIVER_RUN_ID", Value: spec.RunID},
						},
						VolumeMounts: []corev1.VolumeMount{
							shared,
							{Name: "resource-inputs", MountPath: "/var/run/containerdriver/inputs", ReadOnly: true},
						},
						Resources: mem("1Gi"), SecurityContext: sc,
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
				},
			},
		},
	}
}

func TestBuildJob(t *testing.T) {
	type tc struct {
		name   string
		action string
		spec   func(*RunSpec)
		// want edits the default expected Job; wantSecrets/wantConfigMaps list the
		// expected objects' names -> data.
		want           func(*batchv1.Job)
		wantSecrets    map[string]map[string]string
		wantConfigMaps map[string]map[string]string
	}
	runner := func(j *batchv1.Job) *corev1.Container { return &j.Spec.Template.Spec.Containers[0] }
	secretRef := func(name, obj, key string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: obj}, Key: key}}}
	}
	cases := []tc{
		{name: "default template, create", action: "create"},
		{name: "default template, destroy", action: "destroy"},
		{
			name: "command, variables and secret variables", action: "create",
			spec: func(s *RunSpec) {
				s.Job.Command = []string{"/bin/run", "--flag"}
				s.Job.Variables = map[string]string{"B": "2", "A": "1"}
				s.Job.SecretVariables = map[string]string{"TOKEN": "hunter22"}
			},
			want: func(j *batchv1.Job) {
				r := runner(j)
				r.Command = []string{"/bin/run", "--flag"}
				r.Env = append(r.Env, corev1.EnvVar{Name: "A", Value: "1"}, corev1.EnvVar{Name: "B", Value: "2"},
					secretRef("TOKEN", j.Name+"-secret-variables", "TOKEN"))
			},
			wantSecrets: map[string]map[string]string{"-secret-variables": {"TOKEN": "hunter22"}},
		},
		{
			name: "skip permission checks drops pre-checks", action: "create",
			spec: func(s *RunSpec) { s.SkipPermissionChecks = true },
			want: func(j *batchv1.Job) {
				j.Spec.Template.Spec.InitContainers = j.Spec.Template.Spec.InitContainers[:1]
			},
		},
		{
			name: "files relative and absolute, secret files", action: "create",
			spec: func(s *RunSpec) {
				s.Files = map[string]string{"main.tf": "x", "/etc/runner/conf": "y"}
				s.SecretFiles = map[string]string{"creds/key.pem": "PRIVATE"}
			},
			want: func(j *batchv1.Job) {
				ps := &j.Spec.Template.Spec
				ps.Volumes = append(ps.Volumes,
					corev1.Volume{Name: "files", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: j.Name + "-files"}, DefaultMode: ptr.To[int32](0o555)}}},
					corev1.Volume{Name: "secret-files", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
						SecretName: j.Name + "-secret-files", DefaultMode: ptr.To[int32](0o444)}}},
				)
				r := runner(j)
				r.VolumeMounts = append(r.VolumeMounts,
					corev1.VolumeMount{Name: "files", MountPath: "/etc/runner/conf", SubPath: fileKey("/etc/runner/conf"), ReadOnly: true},
					corev1.VolumeMount{Name: "files", MountPath: "/workspace/main.tf", SubPath: fileKey("main.tf"), ReadOnly: true},
					corev1.VolumeMount{Name: "secret-files", MountPath: "/workspace/creds/key.pem", SubPath: fileKey("creds/key.pem"), ReadOnly: true},
				)
			},
			wantSecrets:    map[string]map[string]string{"-secret-files": {fileKey("creds/key.pem"): "PRIVATE"}},
			wantConfigMaps: map[string]map[string]string{"-files": {fileKey("main.tf"): "x", fileKey("/etc/runner/conf"): "y"}},
		},
		{
			name: "git source with password", action: "create",
			spec: func(s *RunSpec) {
				s.Source = &SourceSpec{URL: "https://git.example/org/repo.git", Ref: "refs/heads/main", Path: "infra", Password: "pat-123456"}
			},
			want: func(j *batchv1.Job) {
				ps := &j.Spec.Template.Spec
				ps.InitContainers = append(ps.InitContainers, corev1.Container{
					Name: "git-init", Image: testSidecar, ImagePullPolicy: corev1.PullIfNotPresent,
					Command: []string{"/opt/container-driver/inigit"},
					Env: []corev1.EnvVar{
						{Name: "GIT_URL", Value: "https://git.example/org/repo.git"},
						{Name: "GIT_REF", Value: "refs/heads/main"},
						{Name: "GIT_PATH", Value: "infra"},
						{Name: "GIT_USERNAME", Value: "git"},
						secretRef("GIT_PASSWORD", j.Name+"-source-credentials", "password"),
						{Name: "SCRIPTS_DIRECTORY", Value: "/workspace"},
						{Name: "OUTPUTS_FILE", Value: "/workspace/outputs.json"},
						{Name: "SECRET_OUTPUTS_FILE", Value: "/workspace/secret-outputs.json"},
						{Name: "ERROR_FILE", Value: "/workspace/error.txt"},
						{Name: "GIT_COMMIT_FILE", Value: "/workspace/.containerdriver-git-commit"},
					},
					VolumeMounts:             []corev1.VolumeMount{{Name: "shared-directory", MountPath: "/workspace"}},
					Resources:                corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")}},
					SecurityContext:          ps.InitContainers[0].SecurityContext,
					TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
				})
			},
			wantSecrets: map[string]map[string]string{"-source-credentials": {"password": "pat-123456"}},
		},
		{
			name: "credentials_config: environment, file and script variables", action: "create",
			spec: func(s *RunSpec) {
				s.Credentials = map[string]any{"aws": map[string]any{"accessKeyId": "AKIA1234", "region": "eu"}}
				s.CredentialsConfig = &CredentialsConfig{
					Environment: map[string]string{"AWS_ACCESS_KEY_ID": "aws.accessKeyId", "ALL": "*", "CREDS_PATH": "creds.json"},
					File:        "creds.json",
					ScriptVariables: &ScriptVariables{File: "vars.json", Variables: map[string]string{
						"key": "aws.accessKeyId", "SECRET.ID": "aws.region", "aws": "aws",
					}},
				}
			},
			want: func(j *batchv1.Job) {
				ps := &j.Spec.Template.Spec
				ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "secret-files", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
					SecretName: j.Name + "-secret-files", DefaultMode: ptr.To[int32](0o444)}}})
				r := runner(j)
				r.VolumeMounts = append(r.VolumeMounts,
					corev1.VolumeMount{Name: "secret-files", MountPath: "/workspace/creds.json", SubPath: fileKey("creds.json"), ReadOnly: true},
					corev1.VolumeMount{Name: "secret-files", MountPath: "/workspace/vars.json", SubPath: fileKey("vars.json"), ReadOnly: true},
				)
				obj := j.Name + "-secret-variables"
				r.Env = append(r.Env, secretRef("ALL", obj, "ALL"), secretRef("AWS_ACCESS_KEY_ID", obj, "AWS_ACCESS_KEY_ID"), secretRef("CREDS_PATH", obj, "CREDS_PATH"))
			},
			wantSecrets: map[string]map[string]string{
				"-secret-variables": {
					"AWS_ACCESS_KEY_ID": "AKIA1234",
					"ALL":               `{"aws":{"accessKeyId":"AKIA1234","region":"eu"}}`,
					"CREDS_PATH":        "/workspace/creds.json",
				},
				"-secret-files": {
					fileKey("creds.json"): `{"aws":{"accessKeyId":"AKIA1234","region":"eu"}}`,
					fileKey("vars.json"):  `{"SECRET":{"ID":"eu"},"aws":{"accessKeyId":"AKIA1234","region":"eu"},"key":"AKIA1234"}`,
				},
			},
		},
		{
			name: "pod template merges by name", action: "create",
			spec: func(s *RunSpec) {
				s.Job.PodTemplates = []string{
					"spec:\n  imagePullSecrets:\n  - name: regcred\n  containers:\n  - name: runner\n    resources:\n      limits: {memory: 2Gi}\n",
					"metadata:\n  labels: {team: a}\nspec:\n  initContainers:\n  - name: outputs-fetcher\n    imagePullPolicy: Always\n  nodeSelector: {pool: iac}\n",
				}
			},
			want: func(j *batchv1.Job) {
				ps := &j.Spec.Template.Spec
				ps.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
				ps.NodeSelector = map[string]string{"pool": "iac"}
				ps.InitContainers[0].ImagePullPolicy = corev1.PullAlways
				runner(j).Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}
				l := map[string]string{"team": "a"}
				for k, v := range j.Labels {
					l[k] = v
				}
				j.Spec.Template.Labels = l
			},
		},
		{
			name: "state directory: restored by an init container, saved by outputs-fetcher", action: "create",
			spec: func(s *RunSpec) { s.State = &StateSpec{Path: "/state"} },
			want: func(j *batchv1.Job) {
				ps := &j.Spec.Template.Spec
				ps.Volumes = append(ps.Volumes, corev1.Volume{Name: "state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
				stateMount := corev1.VolumeMount{Name: "state", MountPath: "/state"}
				stateEnv := []corev1.EnvVar{{Name: "STATE_PATH", Value: "/state"}, {Name: "CONTAINERDRIVER_RUN_ID", Value: "run-1"}}
				pc := &ps.InitContainers[1]
				pc.Env = append(pc.Env, corev1.EnvVar{Name: "STATE_PATH", Value: "/state"})
				f := &ps.InitContainers[0]
				f.Env = append(f.Env, stateEnv...)
				f.VolumeMounts = append(f.VolumeMounts, stateMount)
				restore := ps.InitContainers[1].DeepCopy() // pre-checks' shape
				restore.Name, restore.Command = "state-restore", []string{"/opt/container-driver/statekeeper"}
				restore.Env = append(append(restore.Env[:2:2], stateEnv...), ps.InitContainers[0].Env[5:10]...)
				restore.Env = restore.Env[:len(restore.Env):len(restore.Env)]
				restore.VolumeMounts = append(restore.VolumeMounts, stateMount)
				ps.InitContainers = append(ps.InitContainers, *restore)
				r := runner(j)
				r.Env = append(r.Env, corev1.EnvVar{Name: "STATE_PATH", Value: "/state"})
				r.VolumeMounts = append(r.VolumeMounts, stateMount)
			},
		},
		{
			name: "container deployer contract", action: "destroy",
			spec: func(s *RunSpec) {
				s.Contract = ContractContainerDeployer
				s.Target = &TargetSpec{Target: map[string]any{"kind": "Target"}, Content: `{"foo":"bar"}`}
				s.ComponentDescriptor = `{"meta":{"schemaVersion":"v2"}}`
				s.Content = map[string]string{"blueprint.yaml": "x"}
			},
			want: func(j *batchv1.Job) {
				ps := &j.Spec.Template.Spec
				ps.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](2000)}
				for _, i := range []int{0, 1} {
					for k := range ps.InitContainers[i].Env {
						if ps.InitContainers[i].Env[k].Name == "OUTPUTS_FILE" {
							ps.InitContainers[i].Env[k].Value = "/workspace/exports"
						}
					}
				}
				ps.InitContainers[0].Env = append(ps.InitContainers[0].Env, corev1.EnvVar{Name: "OUTPUTS_FORMAT", Value: "json-or-yaml"})
				ps.Volumes = append(ps.Volumes,
					corev1.Volume{Name: "target", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: j.Name + "-target", DefaultMode: ptr.To[int32](0o444)}}},
					corev1.Volume{Name: "deployer-data-content", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: j.Name + "-deployer-data"},
						Items:                []corev1.KeyToPath{{Key: fileKey("blueprint.yaml"), Path: "blueprint.yaml"}}, DefaultMode: ptr.To[int32](0o555)}}},
					corev1.Volume{Name: "deployer-data", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
						LocalObjectReference: corev1.LocalObjectReference{Name: j.Name + "-deployer-data"}, DefaultMode: ptr.To[int32](0o444)}}},
				)
				r := runner(j)
				r.SecurityContext = r.SecurityContext.DeepCopy()
				r.SecurityContext.RunAsGroup = ptr.To[int64](3000)
				r.Env = []corev1.EnvVar{
					{Name: "OPERATION", Value: "DELETE"},
					{Name: "IMPORTS_PATH", Value: "/var/run/containerdriver/inputs/inputs.json"},
					{Name: "EXPORTS_PATH", Value: "/workspace/exports"},
					{Name: "TARGET_PATH", Value: "/var/run/containerdriver/target/target.json"},
					{Name: "COMPONENT_DESCRIPTOR_PATH", Value: "/var/run/containerdriver/component-descriptor/component-descriptor.json"},
					{Name: "CONTENT_PATH", Value: "/var/run/containerdriver/content"},
					{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
					{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
					{Name: "CONTAINERDRIVER_RUN_ID", Value: "run-1"},
				}
				r.VolumeMounts = append(r.VolumeMounts,
					corev1.VolumeMount{Name: "target", MountPath: "/var/run/containerdriver/target", ReadOnly: true},
					corev1.VolumeMount{Name: "deployer-data", MountPath: "/var/run/containerdriver/component-descriptor/component-descriptor.json", SubPath: "component-descriptor.json", ReadOnly: true},
					corev1.VolumeMount{Name: "deployer-data-content", MountPath: "/var/run/containerdriver/content", ReadOnly: true},
				)
			},
			wantSecrets: map[string]map[string]string{"-target": {"target.json": `{"content":"{\"foo\":\"bar\"}","target":{"kind":"Target"}}`}},
			wantConfigMaps: map[string]map[string]string{"-deployer-data": {
				"component-descriptor.json": `{"meta":{"schemaVersion":"v2"}}`, fileKey("blueprint.yaml"): "x"}},
		},
		{
			name: "mount_service_account_token gives the runner the sidecars' token volume", action: "create",
			spec: func(s *RunSpec) { s.Job.MountServiceAccountToken = true },
			want: func(j *batchv1.Job) {
				r := runner(j)
				r.VolumeMounts = append(r.VolumeMounts, corev1.VolumeMount{
					Name: "containerdriver-api-access", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})
			},
		},
		{
			name: "default namespace", action: "create",
			spec: func(s *RunSpec) { s.Job.Namespace = "" },
			want: func(j *batchv1.Job) { j.Namespace = "humanitec-runner" },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := minimalSpec()
			if c.spec != nil {
				c.spec(spec)
			}
			got, err := BuildJob(spec, c.action)
			if err != nil {
				t.Fatal(err)
			}
			want := wantJob(t, spec, c.action)
			if c.want != nil {
				c.want(want)
			}
			if d := cmp.Diff(want, got.Job); d != "" {
				t.Errorf("job (-want +got):\n%s", d)
			}
			wantSecrets := map[string]map[string]string{"-inputs": {"inputs.json": "{}"}}
			for k, v := range c.wantSecrets {
				wantSecrets[k] = v
			}
			gotSecrets := map[string]map[string]string{}
			for _, s := range got.Secrets {
				if s.Namespace != want.Namespace || s.Labels[contract.LabelJob] != want.Name || s.Labels[contract.LabelRole] == "" {
					t.Errorf("secret %s: namespace %q, labels %v", s.Name, s.Namespace, s.Labels)
				}
				d := map[string]string{}
				for k, v := range s.Data {
					d[k] = string(v)
				}
				gotSecrets[strings.TrimPrefix(s.Name, want.Name)] = d
			}
			if d := cmp.Diff(wantSecrets, gotSecrets); d != "" {
				t.Errorf("secrets (-want +got):\n%s", d)
			}
			gotCMs := map[string]map[string]string{}
			for _, c := range got.ConfigMaps {
				gotCMs[strings.TrimPrefix(c.Name, want.Name)] = c.Data
			}
			wantCMs := c.wantConfigMaps
			if wantCMs == nil {
				wantCMs = map[string]map[string]string{}
			}
			if d := cmp.Diff(wantCMs, gotCMs); d != "" {
				t.Errorf("configmaps (-want +got):\n%s", d)
			}
		})
	}
}

func TestBuildJob_InputsAreJSON(t *testing.T) {
	spec := minimalSpec()
	spec.Inputs = map[string]any{"bucket": "b", "tags": []any{"x"}}
	got, err := BuildJob(spec, "create")
	if err != nil {
		t.Fatal(err)
	}
	if s := string(got.Secrets[0].Data["inputs.json"]); s != `{"bucket":"b","tags":["x"]}` {
		t.Errorf("inputs file = %s", s)
	}
}

func TestBuildJob_NameIsDeterministic(t *testing.T) {
	a, _ := BuildJob(minimalSpec(), "create")
	b, _ := BuildJob(minimalSpec(), "create")
	if a.Job.Name != b.Job.Name {
		t.Fatalf("same spec, different names: %s %s", a.Job.Name, b.Job.Name)
	}
	changed := minimalSpec()
	changed.Job.SecretVariables = map[string]string{"X": "new-value"}
	c, _ := BuildJob(changed, "create")
	d, _ := BuildJob(minimalSpec(), "destroy")
	if c.Job.Name == a.Job.Name || d.Job.Name == a.Job.Name {
		t.Fatalf("a changed spec or action must give a new Job: %s %s %s", a.Job.Name, c.Job.Name, d.Job.Name)
	}
	if len(a.Job.Name) > 63 {
		t.Fatalf("name %q is longer than a label value may be", a.Job.Name)
	}
}

func TestPodTemplate_Forbidden(t *testing.T) {
	cases := map[string]string{
		"metadata:\n  namespace: other\n":                                                        "metadata.namespace cannot be overridden",
		"spec:\n  containers:\n  - name: runner\n    image: evil\n":                              "spec.containers[runner].image cannot be overridden",
		"spec:\n  containers:\n  - name: runner\n    args: [x]\n":                                "spec.containers[runner].args",
		"spec:\n  containers:\n  - name: runner\n    command: [x]\n":                             "spec.containers[runner].command",
		"spec:\n  containers:\n  - name: runner\n    env: [{name: A}]\n":                         "spec.containers[runner].env",
		"spec:\n  containers:\n  - name: runner\n    envFrom: [{prefix: A}]\n":                   "spec.containers[runner].envFrom",
		"spec:\n  containers:\n  - name: runner\n    volumeMounts: [{name: v, mountPath: /x}]\n": "spec.containers[runner].volumeMounts",
		"spec:\n  initContainers:\n  - name: git-init\n    workingDir: /x\n":                     "spec.initContainers[git-init].workingDir",
		"spec:\n  initContainers:\n  - name: pre-checks\n    command: [sh]\n":                    "spec.initContainers[pre-checks].command",
		"spec:\n  initContainers:\n  - name: outputs-fetcher\n    env: [{name: A}]\n":            "spec.initContainers[outputs-fetcher].env",
		// Explicit nulls delete what the driver set in a strategic merge patch.
		"spec:\n  containers:\n  - name: runner\n    env: null\n":             "spec.containers[runner].env cannot be null",
		"spec:\n  containers:\n  - name: runner\n    command: null\n":         "spec.containers[runner].command cannot be null",
		"spec:\n  containers:\n  - name: runner\n    volumeMounts: null\n":    "spec.containers[runner].volumeMounts cannot be null",
		"spec:\n  containers:\n  - name: runner\n    securityContext: null\n": "spec.containers[runner].securityContext cannot be null",
		"spec:\n  initContainers: null\n":                                     "spec.initContainers cannot be null",
		"spec:\n  containers: null\n":                                         "spec.containers cannot be null",
		"spec:\n  volumes: null\n":                                            "spec.volumes cannot be null",
		"spec: null\n":                                                        "spec cannot be null",
		"spec:\n  initContainers:\n  - name: state-restore\n    env: null\n":  "spec.initContainers[state-restore].env cannot be null",
		// Patch directives replace or delete.
		"spec:\n  containers:\n  - name: runner\n    $patch: delete\n": "spec.containers[runner].$patch cannot be used",
		"spec:\n  $retainKeys: [containers]\n":                         "spec.$retainKeys cannot be used",
		"spec:\n  initContainers:\n  - $patch: replace\n":              "spec.initContainers[0].$patch cannot be used",
		// Every driver container is protected, state-restore included.
		"spec:\n  initContainers:\n  - name: state-restore\n    command: [sh]\n":        "spec.initContainers[state-restore].command cannot be overridden",
		"spec:\n  initContainers:\n  - name: outputs-fetcher\n    image: x.local/e:1\n": "spec.initContainers[outputs-fetcher].image cannot be overridden: use sidecar_image",
		"spec:\n  initContainers:\n  - name: pre-checks\n    restartPolicy: Always\n":   "spec.initContainers[pre-checks].restartPolicy cannot be overridden",
		"spec:\n  initContainers:\n  - name: runner\n    image: x.local/e:1\n":          "spec.initContainers[runner] is a container of spec.containers",
		// The pod's identity and token.
		"spec:\n  serviceAccountName: other\n":          "spec.serviceAccountName cannot be set: use job.service_account",
		"spec:\n  serviceAccount: other\n":              "spec.serviceAccount cannot be set",
		"spec:\n  automountServiceAccountToken: true\n": "spec.automountServiceAccountToken cannot be set: use job.mount_service_account_token",
		"spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n    volumeMounts: [{name: containerdriver-api-access, mountPath: /t}]\n": "spec.containers[helper].volumeMounts cannot mount containerdriver-api-access",
		"spec:\n  volumes:\n  - name: tok\n    projected: {sources: [{serviceAccountToken: {path: t}}]}\n":                                        "spec.volumes[tok].projected.sources.serviceAccountToken cannot be used",
		"spec:\n  restartPolicy: OnFailure\n": "spec.restartPolicy cannot be overridden",
		// Privileged, root, host namespaces, host paths.
		"spec:\n  containers:\n  - name: runner\n    securityContext: {privileged: true}\n":                         "spec.containers[runner].securityContext.privileged cannot be true",
		"spec:\n  containers:\n  - name: runner\n    securityContext: {runAsUser: 0}\n":                             "spec.containers[runner].securityContext.runAsUser cannot be 0",
		"spec:\n  containers:\n  - name: runner\n    securityContext: {runAsNonRoot: false}\n":                      "spec.containers[runner].securityContext.runAsNonRoot cannot be false",
		"spec:\n  containers:\n  - name: runner\n    securityContext: {allowPrivilegeEscalation: true}\n":           "allowPrivilegeEscalation cannot be true",
		"spec:\n  containers:\n  - name: runner\n    securityContext: {capabilities: {add: [SYS_ADMIN]}}\n":         "capabilities.add cannot add SYS_ADMIN",
		"spec:\n  containers:\n  - name: runner\n    securityContext: {capabilities: {drop: []}}\n":                 "capabilities.drop must keep ALL",
		"spec:\n  containers:\n  - name: runner\n    securityContext: {seccompProfile: {type: Unconfined}}\n":       "seccompProfile.type cannot be Unconfined",
		"spec:\n  securityContext: {runAsUser: 0}\n":                                                                "spec.securityContext.runAsUser cannot be 0",
		"spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n    securityContext: {privileged: true}\n": "spec.containers[helper].securityContext.privileged cannot be true",
		"spec:\n  hostNetwork: true\n":                                                "spec.hostNetwork cannot be true",
		"spec:\n  hostPID: true\n":                                                    "spec.hostPID cannot be true",
		"spec:\n  hostIPC: true\n":                                                    "spec.hostIPC cannot be true",
		"spec:\n  shareProcessNamespace: true\n":                                      "spec.shareProcessNamespace cannot be true",
		"spec:\n  volumes:\n  - name: shared-directory\n    hostPath: {path: /}\n":    "spec.volumes[shared-directory] cannot be overridden",
		"spec:\n  volumes:\n  - name: mine\n    hostPath: {path: /}\n":                "spec.volumes[mine].hostPath cannot be used",
		"spec:\n  volumes:\n  - name: containerdriver-api-access\n    emptyDir: {}\n": "spec.volumes[containerdriver-api-access] cannot be overridden",
		"spec:\n  containerz: []\n":                                                   "unknown field",
		"spec: [":                                                                     "not a valid pod template",
	}
	for doc, want := range cases {
		spec := minimalSpec()
		spec.Job.PodTemplates = []string{doc}
		_, err := BuildJob(spec, "create")
		var verrs ValidationErrors
		if !errors.As(err, &verrs) || verrs[0].Path.String() != "job.pod_template" || !strings.Contains(err.Error(), want) {
			t.Errorf("template %q: got %v, want a job.pod_template error containing %q", doc, err, want)
		}
	}
	// Fields the specification leaves open stay open, including a user's own containers.
	ok := "spec:\n  containers:\n  - name: runner\n    resources: {limits: {cpu: 1}}\n    securityContext: {runAsUser: 1001, capabilities: {drop: [ALL]}}\n" +
		"  - name: helper\n    image: x.local/h:1\n    command: [a]\n    volumeMounts: [{name: shared-directory, mountPath: /w}]\n" +
		"  initContainers:\n  - name: mine\n    image: x.local/i:1\n    command: [b]\n  - name: state-restore\n    resources: {limits: {memory: 1Gi}}\n" +
		"  volumes:\n  - name: cache\n    emptyDir: {}\n  securityContext: {runAsNonRoot: true, fsGroup: 2000}\n"
	if _, err := ParsePodTemplate(ok); err != nil {
		t.Errorf("allowed template rejected: %v", err)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*RunSpec)
		field string
	}{
		{"bad image", func(s *RunSpec) { s.Job.Image = "Not An Image" }, "job.image"},
		{"relative shared dir", func(s *RunSpec) { s.Job.SharedDirectory = "work" }, "job.shared_directory"},
		{"root shared dir", func(s *RunSpec) { s.Job.SharedDirectory = "/" }, "job.shared_directory"},
		{"bad namespace", func(s *RunSpec) { s.Job.Namespace = "Bad_NS" }, "job.namespace"},
		{"reserved variable", func(s *RunSpec) { s.Job.Variables = map[string]string{"ACTION": "x"} }, `job.variables["ACTION"]`},
		{"bad variable name", func(s *RunSpec) { s.Job.Variables = map[string]string{"1X": "x"} }, `job.variables["1X"]`},
		{"dotdot file", func(s *RunSpec) { s.Files = map[string]string{"../x": "x"} }, `files["../x"]`},
		{"contract file", func(s *RunSpec) { s.Files = map[string]string{"outputs.json": "x"} }, `files["outputs.json"]`},
		{"same file twice", func(s *RunSpec) {
			s.Files = map[string]string{"a": "x"}
			s.SecretFiles = map[string]string{"/workspace/a": "y"}
		}, `secret_files["/workspace/a"]`},
		{"bad git url", func(s *RunSpec) { s.Source = &SourceSpec{URL: "ftp://x"} }, "source.url"},
		{"ssh key with https", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://h/r.git", SSHKey: "k"} }, "source.ssh_key"},
		{"absolute credentials file", func(s *RunSpec) { s.CredentialsConfig = &CredentialsConfig{File: "/etc/c.json"} }, "credentials_config.file"},
		{"credentials file is a contract file", func(s *RunSpec) { s.CredentialsConfig = &CredentialsConfig{File: "outputs.json"} }, "credentials_config.file"},
		{"credentials file is also a file", func(s *RunSpec) {
			s.Files = map[string]string{"creds.json": "x"}
			s.CredentialsConfig = &CredentialsConfig{File: "creds.json"}
		}, "credentials_config.file"},
		{"script variables file in the driver's mounts", func(s *RunSpec) {
			s.CredentialsConfig = &CredentialsConfig{ScriptVariables: &ScriptVariables{File: "/var/run/containerdriver/inputs/x.json"}}
		}, "credentials_config.script_variables.file"},
		{"script variables file on the token", func(s *RunSpec) {
			s.CredentialsConfig = &CredentialsConfig{ScriptVariables: &ScriptVariables{File: "/var/run/secrets/kubernetes.io/serviceaccount/token"}}
		}, "credentials_config.script_variables.file"},
		{"file on the token mount", func(s *RunSpec) { s.Files = map[string]string{"/var/run/secrets/kubernetes.io/serviceaccount/x": "x"} }, `files["/var/run/secrets/kubernetes.io/serviceaccount/x"]`},
		{"state path on the token mount", func(s *RunSpec) { s.State = &StateSpec{Path: "/var/run/secrets"} }, "state_path"},
		{"https url with a token", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://ghp_TOKEN@github.com/o/r.git"} }, "source.url"},
		{"https url with user and password", func(s *RunSpec) { s.Source = &SourceSpec{URL: "https://u:TOKEN@host/o/r.git"} }, "source.url"},
		{"ssh url with a password", func(s *RunSpec) { s.Source = &SourceSpec{URL: "ssh://git:pw@host/o/r.git"} }, "source.url"},
		{"reserved CONTAINERDRIVER_RUN_ID", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"CONTAINERDRIVER_RUN_ID": "long-enough"} }, `job.secret_variables["CONTAINERDRIVER_RUN_ID"]`},
		{"reserved STATE_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"STATE_PATH": "long-enough"} }, `job.secret_variables["STATE_PATH"]`},
		{"reserved OPERATION", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"OPERATION": "long-enough"} }, `job.secret_variables["OPERATION"]`},
		{"reserved IMPORTS_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"IMPORTS_PATH": "long-enough"} }, `job.secret_variables["IMPORTS_PATH"]`},
		{"reserved EXPORTS_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"EXPORTS_PATH": "long-enough"} }, `job.secret_variables["EXPORTS_PATH"]`},
		{"reserved TARGET_PATH", func(s *RunSpec) { s.Job.SecretVariables = map[string]string{"TARGET_PATH": "long-enough"} }, `job.secret_variables["TARGET_PATH"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := minimalSpec()
			c.edit(s)
			err := s.Validate()
			var verrs ValidationErrors
			if !errors.As(err, &verrs) {
				t.Fatalf("got %v, want ValidationErrors", err)
			}
			for _, e := range verrs {
				if e.Path.String() == c.field {
					return
				}
			}
			t.Errorf("no error on %s in %v", c.field, err)
		})
	}
	if err := minimalSpec().Validate(); err != nil {
		t.Errorf("minimal spec: %v", err)
	}
	for _, u := range []string{"ssh://git@host/o/r.git", "git@github.com:o/r.git", "https://host/o/r.git", "https://host/o/r@v1.git"} {
		s := minimalSpec()
		s.Source = &SourceSpec{URL: u}
		if err := s.Validate(); err != nil {
			t.Errorf("source.url %q: %v", u, err)
		}
	}
}

func TestResolveCredentials_MissingKeyNamesKeyNotValue(t *testing.T) {
	cc := &CredentialsConfig{Environment: map[string]string{"X": "aws.nope"}}
	_, err := cc.ResolveCredentials(map[string]any{"aws": map[string]any{"secret": "s3cr3t-value"}}, "/w")
	if err == nil || !strings.Contains(err.Error(), "aws.nope") || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("got %v", err)
	}
}

func TestPinnedImage(t *testing.T) {
	cases := []struct{ image, id, want string }{
		{"reg.example:5000/org/img:1.2", "reg.example:5000/org/img@sha256:abc", "reg.example:5000/org/img@sha256:abc"},
		{"img", "docker.io/library/img@sha256:def", "img@sha256:def"},
		{"img:1@sha256:old", "docker.io/library/img@sha256:new", "img@sha256:new"},
		{"local.test/x:1", "sha256:1234", "local.test/x:1"},
	}
	for _, c := range cases {
		if got, _ := PinnedImage(c.image, c.id); got != c.want {
			t.Errorf("PinnedImage(%q, %q) = %q, want %q", c.image, c.id, got, c.want)
		}
	}
}

func TestRedactor(t *testing.T) {
	s := minimalSpec()
	s.Job.SecretVariables = map[string]string{"T": "tok-123456", "SHORT": "1"}
	s.SecretFiles = map[string]string{"key.pem": "-----BEGIN KEY-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQ\n-----END KEY-----\n"}
	s.Source = &SourceSpec{URL: "https://h/r.git", Password: "git-pa$$/word"}
	s.Credentials = map[string]any{"a": map[string]any{"b": "deep-secret", "region": "eu"}, "list": []any{"in-a-list"}}
	s.CredentialsConfig = &CredentialsConfig{Environment: map[string]string{"ALL": "*"}}
	s.Contract, s.Target = ContractContainerDeployer, &TargetSpec{Content: `{"kubeconfig":"target-secret"}`}
	r := newRedactor(s).withSecretOutputs(map[string]any{"out": "secret-output-value", "n": map[string]any{"deep": "nested-output"}})
	b64 := func(v string) string { return base64.StdEncoding.EncodeToString([]byte(v)) }
	for _, c := range []struct{ name, in, want string }{
		{"raw", "token tok-123456 and deep-secret, count 1", "token (sensitive value) and (sensitive value), count 1"},
		{"short credential strings are left alone", "region eu", "region eu"},
		{"string in a list", "x in-a-list y", "x (sensitive value) y"},
		{"base64 std", "b64 " + b64("tok-123456"), "b64 (sensitive value)"},
		{"base64 url, unpadded", "b64 " + base64.RawURLEncoding.EncodeToString([]byte("git-pa$$/word")), "b64 (sensitive value)"},
		{"base64 url", "u " + base64.URLEncoding.EncodeToString([]byte("git-pa$$/word")), "u (sensitive value)"},
		{"json-escaped", `{"v":"` + strings.ReplaceAll(`{"kubeconfig":"target-secret"}`, `"`, `\"`) + `"}`, `{"v":"(sensitive value)"}`},
		{"url-encoded (query)", "https://h/?p=git-pa%24%24%2Fword", "https://h/?p=(sensitive value)"},
		{"url-encoded (path)", "https://h/git-pa$$%2Fword/x", "https://h/(sensitive value)/x"},
		{"a line of a multi-line secret", "saw AAAAB3NzaC1yc2EAAAADAQABAAABAQ in the log", "saw (sensitive value) in the log"},
		{"target content", `{"kubeconfig":"target-secret"}`, "(sensitive value)"},
		{"the whole credentials as JSON (credentials_config *)", `{"a":{"b":"deep-secret","region":"eu"},"list":["in-a-list"]}`, "(sensitive value)"},
		{"secret output", "got secret-output-value and nested-output", "got (sensitive value) and (sensitive value)"},
		{"git password", "git-pa$$/word", "(sensitive value)"},
	} {
		if got := r.mask(c.in); got != c.want {
			t.Errorf("%s: mask(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestValidate_ShortSecretsRefused(t *testing.T) {
	s := minimalSpec()
	s.Job.SecretVariables = map[string]string{"A": "abc", "OK": "abcd", "EMPTY": ""}
	s.SecretFiles = map[string]string{"f": "{}"}
	s.Source = &SourceSpec{URL: "https://h/r.git", Password: "pw"}
	err := s.Validate()
	for _, want := range []string{`job.secret_variables["A"]: is shorter than 4 characters`, `secret_files["f"]: is shorter`, "source.password: is shorter"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
	for _, not := range []string{`["OK"]`, `["EMPTY"]`, "abc"} {
		if err != nil && strings.Contains(err.Error(), not) {
			t.Errorf("Validate() = %v, must not mention %q", err, not)
		}
	}
}
