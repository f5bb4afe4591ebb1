package containerdriver

import (
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

// contractVersion is the sidecar contract version every sidecar container is told.
var contractVersion = corev1.EnvVar{Name: "CONTAINERDRIVER_CONTRACT_VERSION", Value: "2"}

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
		contractVersion,
		field("POD_NAME", "metadata.name"),
		field("POD_NAMESPACE", "metadata.namespace"),
		{Name: "JOB_NAME", Value: name},
		field("JOB_UID", "metadata.labels['batch.kubernetes.io/controller-uid']"),
		{Name: "OUTPUTS_OBJECT_NAME", Value: name + "-out"},
	}, files...)
	precheckEnv := append([]corev1.EnvVar{
		contractVersion,
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
								{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600)}},
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
						contractVersion,
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
				restore.Env = append(append(restore.Env[:3:3], stateEnv...), ps.InitContainers[0].Env[6:11]...)
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
