package containerdriver

import (
	"errors"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

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
		"  - name: helper\n    image: x.local/h:1\n    command: [a]\n    volumeMounts: [{name: shared-directory, mountPath: /w}]\n    securityContext: " + restricted + "\n" +
		"  initContainers:\n  - name: mine\n    image: x.local/i:1\n    command: [b]\n    securityContext: " + restricted + "\n  - name: state-restore\n    resources: {limits: {memory: 1Gi}}\n" +
		"  volumes:\n  - name: cache\n    emptyDir: {}\n  securityContext: {runAsNonRoot: true, fsGroup: 2000}\n"
	if _, err := ParsePodTemplate(ok); err != nil {
		t.Errorf("allowed template rejected: %v", err)
	}
}

// restricted is the security context a container a template adds must have.
const restricted = "{allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}"

// TestPodTemplate_Bypasses: every spelling and merge trick of issue 23 that used to pass
// the checks and take effect on the pod is refused, at plan time (ParsePodTemplate) and by
// BuildJob, with the field's path.
func TestPodTemplate_Bypasses(t *testing.T) {
	unknown := func(field string) string { return `unknown field "` + field + `"` }
	cases := []struct{ name, doc, want string }{
		// Field names are exact: Go's JSON matched these case-insensitively, after the
		// checks had looked for the exact key.
		{"automount lower case", "spec:\n  automountserviceaccounttoken: true\n", unknown("spec.automountserviceaccounttoken")},
		{"automount capitalised", "spec:\n  AutomountServiceAccountToken: true\n", unknown("spec.AutomountServiceAccountToken")},
		{"automount", "spec:\n  automountServiceAccountToken: true\n", "spec.automountServiceAccountToken cannot be set: use job.mount_service_account_token"},
		{"shareProcessNamespace lower case", "spec:\n  shareprocessnamespace: true\n", unknown("spec.shareprocessnamespace")},
		{"shareProcessNamespace capitalised", "spec:\n  ShareProcessNamespace: true\n", unknown("spec.ShareProcessNamespace")},
		{"shareProcessNamespace", "spec:\n  shareProcessNamespace: true\n", "spec.shareProcessNamespace cannot be true"},
		{"hostPID lower case", "spec:\n  hostpid: true\n", unknown("spec.hostpid")},
		{"hostPID capitalised", "spec:\n  HostPID: true\n", unknown("spec.HostPID")},
		{"hostPID", "spec:\n  hostPID: true\n", "spec.hostPID cannot be true"},
		{"hostNetwork capitalised", "spec:\n  HostNetwork: true\n", unknown("spec.HostNetwork")},
		{"hostIPC lower case", "spec:\n  hostipc: true\n", unknown("spec.hostipc")},
		{"serviceAccountName lower case", "spec:\n  serviceaccountname: other\n", unknown("spec.serviceaccountname")},
		{"serviceAccountName capitalised", "spec:\n  ServiceAccountName: other\n", unknown("spec.ServiceAccountName")},
		{"serviceAccountName", "spec:\n  serviceAccountName: other\n", "spec.serviceAccountName cannot be set: use job.service_account"},
		{"serviceAccount", "spec:\n  serviceAccount: other\n", "spec.serviceAccount cannot be set: use job.service_account"},
		{"namespace capitalised", "metadata:\n  Namespace: other\n", unknown("metadata.Namespace")},
		// The runner's environment from a Secret or ConfigMap.
		{"runner envFrom secretRef", "spec:\n  containers:\n  - name: runner\n    envFrom: [{secretRef: {name: other}}]\n", "spec.containers[runner].envFrom cannot be overridden: use job.variables or job.secret_variables"},
		{"runner envFrom configMapRef", "spec:\n  containers:\n  - name: runner\n    envFrom: [{configMapRef: {name: other}}]\n", "spec.containers[runner].envFrom cannot be overridden"},
		{"runner envFrom lower case", "spec:\n  containers:\n  - name: runner\n    envfrom: [{secretRef: {name: other}}]\n", unknown("spec.containers[0].envfrom")},
		{"runner EnvFrom capitalised", "spec:\n  containers:\n  - name: runner\n    EnvFrom: [{secretRef: {name: other}}]\n", unknown("spec.containers[0].EnvFrom")},
		{"runner env from a Secret", "spec:\n  containers:\n  - name: runner\n    env: [{name: X, valueFrom: {secretKeyRef: {name: other, key: k}}}]\n", "spec.containers[runner].env cannot be overridden"},
		{"runner image capitalised", "spec:\n  containers:\n  - name: runner\n    Image: evil.local/x:1\n", unknown("spec.containers[0].Image")},
		// A privileged runner.
		{"privileged runner", "spec:\n  containers:\n  - name: runner\n    securityContext: {privileged: true}\n", "spec.containers[runner].securityContext.privileged cannot be true"},
		{"privileged runner capitalised", "spec:\n  containers:\n  - name: runner\n    securityContext: {Privileged: true}\n", unknown("spec.containers[0].securityContext.Privileged")},
		{"runner as root", "spec:\n  containers:\n  - name: runner\n    securityContext: {runAsUser: 0}\n", "spec.containers[runner].securityContext.runAsUser cannot be 0"},
		{"runner capability", "spec:\n  containers:\n  - name: runner\n    securityContext: {capabilities: {add: [SYS_PTRACE]}}\n", "spec.containers[runner].securityContext.capabilities.add cannot add SYS_PTRACE"},
		// restartPolicy other than Never, on the pod and on a driver init container.
		{"restartPolicy OnFailure", "spec:\n  restartPolicy: OnFailure\n", "spec.restartPolicy cannot be overridden: a run is never restarted"},
		{"restartPolicy Always capitalised", "spec:\n  RestartPolicy: Always\n", unknown("spec.RestartPolicy")},
		{"pre-checks as a sidecar", "spec:\n  initContainers:\n  - name: pre-checks\n    restartPolicy: Always\n", "spec.initContainers[pre-checks].restartPolicy cannot be overridden"},
		{"git-init as a sidecar", "spec:\n  initContainers:\n  - name: git-init\n    restartPolicy: Always\n", "spec.initContainers[git-init].restartPolicy cannot be overridden"},
		{"pre-checks as a sidecar lower case", "spec:\n  initContainers:\n  - name: pre-checks\n    restartpolicy: Always\n", unknown("spec.initContainers[0].restartpolicy")},
		// The termination message the driver reads.
		{"terminationMessagePath", "spec:\n  containers:\n  - name: runner\n    terminationMessagePath: /workspace/outputs.json\n", "spec.containers[runner].terminationMessagePath cannot be overridden"},
		{"terminationMessagePath capitalised", "spec:\n  containers:\n  - name: runner\n    TerminationMessagePath: /tmp/x\n", unknown("spec.containers[0].TerminationMessagePath")},
		{"terminationMessagePolicy", "spec:\n  initContainers:\n  - name: outputs-fetcher\n    terminationMessagePolicy: File\n", "spec.initContainers[outputs-fetcher].terminationMessagePolicy cannot be overridden"},
		// A container the template adds without the restricted security context.
		{"extra container without security context", "spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n", "spec.containers[helper].securityContext lacks allowPrivilegeEscalation: false, capabilities.drop: [ALL], runAsNonRoot: true"},
		{"extra init container that may escalate", "spec:\n  initContainers:\n  - name: mine\n    image: x.local/h:1\n    securityContext: {allowPrivilegeEscalation: true, capabilities: {drop: [ALL]}, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n", "spec.initContainers[mine].securityContext.allowPrivilegeEscalation cannot be true"},
		{"extra container without seccomp", "spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true}\n", "spec.containers[helper].securityContext lacks seccompProfile.type: RuntimeDefault"},
		{"extra container mounting the token", "spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n    securityContext: " + restricted + "\n    volumeMounts: [{name: containerdriver-api-access, mountPath: /t}]\n", "spec.containers[helper].volumeMounts cannot mount containerdriver-api-access"},
		// AppArmor, seccomp and SELinux only tighten.
		{"AppArmor Unconfined annotation", "metadata:\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/runner: unconfined\n", "metadata.annotations[container.apparmor.security.beta.kubernetes.io/runner] cannot be unconfined"},
		{"AppArmor Unconfined field", "spec:\n  containers:\n  - name: runner\n    securityContext: {appArmorProfile: {type: Unconfined}}\n", "spec.containers[runner].securityContext.appArmorProfile.type cannot be Unconfined"},
		{"AppArmor Unconfined on the pod", "spec:\n  securityContext: {appArmorProfile: {type: Unconfined}}\n", "spec.securityContext.appArmorProfile.type cannot be Unconfined"},
		{"seccomp Unconfined annotation", "metadata:\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\n", "metadata.annotations[seccomp.security.alpha.kubernetes.io/pod] cannot be unconfined"},
		{"seccomp Unconfined on the pod", "spec:\n  securityContext: {seccompProfile: {type: Unconfined}}\n", "spec.securityContext.seccompProfile.type cannot be Unconfined"},
		{"SELinux spc_t", "spec:\n  containers:\n  - name: runner\n    securityContext: {seLinuxOptions: {type: spc_t}}\n", "spec.containers[runner].securityContext.seLinuxOptions.type cannot be spc_t"},
		{"SELinux user", "spec:\n  securityContext: {seLinuxOptions: {user: system_u}}\n", "spec.securityContext.seLinuxOptions.user cannot be set"},
		{"unsafe sysctl", "spec:\n  securityContext: {sysctls: [{name: kernel.msgmax, value: \"1\"}]}\n", "spec.securityContext.sysctls[kernel.msgmax] cannot be set"},
		// Commands in a container that holds the token.
		{"probe on a sidecar", "spec:\n  initContainers:\n  - name: outputs-fetcher\n    startupProbe: {exec: {command: [/opt/container-driver/outputsfetcher]}}\n", "spec.initContainers[outputs-fetcher].startupProbe cannot be overridden: a probe would run a command"},
		{"hook on a sidecar", "spec:\n  initContainers:\n  - name: state-restore\n    lifecycle: {postStart: {exec: {command: [x]}}}\n", "spec.initContainers[state-restore].lifecycle cannot be overridden: a hook would run a command"},
		// Duplicate and unknown fields.
		{"duplicate key", "spec:\n  hostPID: false\n  hostPID: true\n", `key "hostPID" already set`},
		{"duplicate key in JSON", `{"spec": {"automountServiceAccountToken": false, "automountServiceAccountToken": true}}`, `key "automountServiceAccountToken" already set`},
		{"duplicate key in a container", "spec:\n  containers:\n  - name: runner\n    securityContext: {privileged: false, privileged: true}\n", `key "privileged" already set`},
		{"unknown field", "spec:\n  containerz: []\n", unknown("spec.containerz")},
		{"unknown top-level field", "kind: Pod\nspec: {}\n", unknown("kind")},
		// Merge tricks: a volume merged into the driver's, a driver name in a run without it.
		{"hostPath into the shared directory", "spec:\n  volumes:\n  - name: shared-directory\n    hostPath: {path: /}\n", "spec.volumes[shared-directory] cannot be overridden"},
		{"state volume of a run without state", "spec:\n  volumes:\n  - name: state\n    emptyDir: {}\n", "spec.volumes[state] cannot be"},
		{"setElementOrder", "spec:\n  $setElementOrder/initContainers: [{name: pre-checks}, {name: outputs-fetcher}]\n", "spec.$setElementOrder/initContainers cannot be used"},
		{"metadata name", "metadata:\n  name: other\n", "metadata.name cannot be set: a pod template's metadata may only add labels and annotations"},
		{"ephemeral containers", "spec:\n  ephemeralContainers: [{name: e, image: x.local/e:1}]\n", "spec.ephemeralContainers cannot be set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParsePodTemplate(c.doc); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("ParsePodTemplate(%q) = %v, want an error containing %q", c.doc, err, c.want)
			}
			spec := minimalSpec()
			spec.Job.PodTemplates = []string{c.doc}
			_, err := BuildJob(spec, "create")
			var verrs ValidationErrors
			if !errors.As(err, &verrs) || verrs[0].Path.String() != "job.pod_template" || !strings.Contains(err.Error(), c.want) {
				t.Errorf("BuildJob with template %q: got %v, want a job.pod_template error containing %q", c.doc, err, c.want)
			}
		})
	}
}

// TestPodTemplate_Allowed: what the docs promise a template may do stays allowed, and
// takes effect on the Job.
func TestPodTemplate_Allowed(t *testing.T) {
	cases := []struct {
		name, doc string
		check     func(*corev1.PodSpec, *corev1.PodTemplateSpec) bool
	}{
		{"image pull secrets", "spec:\n  imagePullSecrets:\n  - name: regcred\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return len(s.ImagePullSecrets) == 1 && s.ImagePullSecrets[0].Name == "regcred"
		}},
		{"runner resources", "spec:\n  containers:\n  - name: runner\n    resources: {requests: {memory: 64Mi, cpu: 100m}, limits: {memory: 2Gi}}\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.Containers[0].Resources.Limits.Memory().String() == "2Gi" && s.Containers[0].Resources.Requests.Memory().String() == "64Mi"
		}},
		{"sidecar resources and pull policy", "spec:\n  initContainers:\n  - name: outputs-fetcher\n    imagePullPolicy: Always\n    resources: {limits: {memory: 128Mi}}\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.InitContainers[0].ImagePullPolicy == corev1.PullAlways && s.InitContainers[0].Resources.Limits.Memory().String() == "128Mi"
		}},
		{"node selector, tolerations, affinity", "spec:\n  nodeSelector: {kubernetes.io/os: linux}\n  tolerations: [{key: dedicated, operator: Equal, value: iac, effect: NoSchedule}]\n" +
			"  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [iac]}]}]}}}\n" +
			"  topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]\n  priorityClassName: batch\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.NodeSelector["kubernetes.io/os"] == "linux" && len(s.Tolerations) == 1 && s.Affinity != nil && len(s.TopologySpreadConstraints) == 1 && s.PriorityClassName == "batch"
		}},
		{"labels and annotations", "metadata:\n  labels: {team: platform}\n  annotations: {example.com/owner: a, container.apparmor.security.beta.kubernetes.io/runner: runtime/default}\n", func(_ *corev1.PodSpec, m *corev1.PodTemplateSpec) bool {
			return m.Labels["team"] == "platform" && m.Annotations["example.com/owner"] == "a"
		}},
		{"extra volumes and a restricted helper", "spec:\n  volumes:\n  - name: cache\n    emptyDir: {}\n  - name: ca\n    configMap: {name: ca}\n  - name: token\n    secret: {secretName: mine}\n" +
			"  containers:\n  - name: helper\n    image: x.local/h:1\n    command: [a]\n    env: [{name: A, valueFrom: {secretKeyRef: {name: mine, key: a}}}]\n" +
			"    volumeMounts: [{name: shared-directory, mountPath: /w}, {name: cache, mountPath: /c}]\n    securityContext: " + restricted + "\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return len(s.Containers) == 2 && slices.ContainsFunc(s.Containers, func(c corev1.Container) bool { return c.Name == "helper" })
		}},
		{"a restricted init container and a native sidecar", "spec:\n  initContainers:\n  - name: mine\n    image: x.local/i:1\n    securityContext: " + restricted + "\n" +
			"  - name: proxy\n    image: x.local/p:1\n    restartPolicy: Always\n    securityContext: " + restricted + "\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return slices.ContainsFunc(s.InitContainers, func(c corev1.Container) bool { return c.Name == "proxy" && c.RestartPolicy != nil })
		}},
		{"a helper restricted through the pod's context", "spec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}, fsGroup: 2000}\n" +
			"  containers:\n  - name: helper\n    image: x.local/h:1\n    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.SecurityContext != nil && *s.SecurityContext.FSGroup == 2000
		}},
		{"runner tightened", "spec:\n  containers:\n  - name: runner\n    securityContext: {runAsUser: 1001, readOnlyRootFilesystem: true, capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}, " +
			"seccompProfile: {type: Localhost, localhostProfile: p.json}, appArmorProfile: {type: RuntimeDefault}, seLinuxOptions: {type: container_t, level: \"s0:c1,c2\"}}\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return *s.Containers[0].SecurityContext.RunAsUser == 1001 && *s.Containers[0].SecurityContext.ReadOnlyRootFilesystem
		}},
		{"runner working directory, ports and probes", "spec:\n  containers:\n  - name: runner\n    workingDir: /workspace/sub\n    ports: [{containerPort: 8080, hostPort: 20080}]\n" +
			"    readinessProbe: {exec: {command: [/bin/true]}}\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.Containers[0].WorkingDir == "/workspace/sub" && len(s.Containers[0].Ports) == 1
		}},
		{"grace period, deadline, DNS, user namespace", "spec:\n  terminationGracePeriodSeconds: 120\n  activeDeadlineSeconds: 3600\n  dnsPolicy: None\n" +
			"  dnsConfig: {nameservers: [10.0.0.10]}\n  hostAliases: [{ip: 10.0.0.1, hostnames: [git.local]}]\n  hostUsers: false\n  securityContext: {sysctls: [{name: net.ipv4.ip_local_port_range, value: \"1024 65000\"}]}\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return *s.TerminationGracePeriodSeconds == 120 && s.DNSPolicy == corev1.DNSNone && !*s.HostUsers
		}},
		{"the driver's own values, spelt out", "spec:\n  restartPolicy: Never\n  automountServiceAccountToken: false\n  hostPID: false\n  hostNetwork: false\n  shareProcessNamespace: false\n" +
			"  initContainers:\n  - name: outputs-fetcher\n    restartPolicy: Always\n  containers:\n  - name: runner\n    terminationMessagePolicy: FallbackToLogsOnError\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.RestartPolicy == corev1.RestartPolicyNever && !*s.AutomountServiceAccountToken
		}},
		{"JSON, as yamlencode and jsonencode write it", `{"spec":{"imagePullSecrets":[{"name":"regcred"}],"containers":[{"name":"runner","resources":{"requests":{"memory":"64Mi"}}}]}}`, func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return len(s.ImagePullSecrets) == 1
		}},
		{"quoted YAML keys", "\"spec\":\n  \"nodeSelector\":\n    \"pool\": \"iac\"\n", func(s *corev1.PodSpec, _ *corev1.PodTemplateSpec) bool {
			return s.NodeSelector["pool"] == "iac"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ParsePodTemplate(c.doc); err != nil {
				t.Fatalf("ParsePodTemplate: %v", err)
			}
			// On a run with every driver container and volume, and on a minimal one.
			full := minimalSpec()
			full.Source = &SourceSpec{URL: "https://git.local/r.git", Password: "pass-word"}
			full.State = &StateSpec{Path: "/state"}
			full.SecretFiles = map[string]string{"s": "secret-value"}
			for _, spec := range []*RunSpec{minimalSpec(), full} {
				spec.Job.PodTemplates = []string{c.doc}
				objs, err := BuildJob(spec, "create")
				if err != nil {
					t.Fatalf("BuildJob: %v", err)
				}
				pt := &objs.Job.Spec.Template
				if !c.check(&pt.Spec, pt) {
					t.Errorf("the template did not take effect: %+v", pt)
				}
			}
		})
	}
}

// TestPodTemplate_FinalPod: mergePodTemplate checks the pod all the run's templates make
// against the run's own pod, on its own (without ParsePodTemplate having run first).
func TestPodTemplate_FinalPod(t *testing.T) {
	spec := minimalSpec() // no source, no state: no git-init, no state-restore, no state volume
	objs, err := BuildJob(spec, "create")
	if err != nil {
		t.Fatal(err)
	}
	base := objs.Job.Spec.Template.DeepCopy()
	for _, c := range []struct {
		docs []string
		want string
	}{
		{[]string{"spec:\n  volumes:\n  - name: state\n    emptyDir: {}\n"}, "spec.volumes[state] cannot be used: the driver names one of its volumes so"},
		{[]string{"spec:\n  hostPID: true\n"}, "spec.hostPID cannot be true"},
		{[]string{"spec:\n  containers:\n  - name: runner\n    $patch: replace\n"}, "spec.containers[runner].$patch cannot be used"},
		{[]string{"spec:\n  containers:\n  - name: runner\n    envFrom: [{secretRef: {name: other}}]\n"}, "spec.containers[runner].envFrom cannot be overridden"},
		// Templates merged in order (a runner configuration's, then the run's) and accepted.
		{[]string{
			"spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n    securityContext: " + restricted + "\n",
			"spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}, runAsNonRoot: true, seccompProfile: {type: Localhost, localhostProfile: p}, privileged: false}\n",
			"spec:\n  containers:\n  - name: runner\n    securityContext: {runAsUser: 1001}\n",
		}, ""},
		{[]string{"spec:\n  HostPID: true\n"}, `unknown field "spec.HostPID"`},
	} {
		_, err := mergePodTemplate(base.DeepCopy(), c.docs)
		if c.want == "" {
			if err != nil {
				t.Errorf("templates %q: %v", c.docs, err)
			}
			continue
		}
		var verrs ValidationErrors
		if !errors.As(err, &verrs) || verrs[0].Path.String() != "job.pod_template" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("templates %q: got %v, want a job.pod_template error containing %q", c.docs, err, c.want)
		}
	}
}

// TestPodTemplate_AbsentDriverContainer: a template that adjusts a driver container a run
// does not have (a runner configuration's template tuning git-init, used by a run without
// a source) is accepted, and nothing of that container reaches the pod.
func TestPodTemplate_AbsentDriverContainer(t *testing.T) {
	spec := minimalSpec()
	spec.Job.PodTemplates = []string{"spec:\n  initContainers:\n  - name: git-init\n    resources: {limits: {memory: 2Gi}}\n  - name: state-restore\n    imagePullPolicy: Always\n"}
	objs, err := BuildJob(spec, "create")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range objs.Job.Spec.Template.Spec.InitContainers {
		if c.Name == "git-init" || c.Name == "state-restore" {
			t.Errorf("init container %s is in a pod that has no source and no state", c.Name)
		}
	}
	// An image of its own for git-init is refused at plan time, source or not.
	if _, err := ParsePodTemplate("spec:\n  initContainers:\n  - name: git-init\n    image: x.local/g:1\n"); err == nil ||
		!strings.Contains(err.Error(), "spec.initContainers[git-init].image cannot be overridden: use sidecar_image") {
		t.Errorf("got %v", err)
	}
}
