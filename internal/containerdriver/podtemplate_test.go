package containerdriver

import (
	"errors"
	"strings"
	"testing"
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
		"  - name: helper\n    image: x.local/h:1\n    command: [a]\n    volumeMounts: [{name: shared-directory, mountPath: /w}]\n" +
		"  initContainers:\n  - name: mine\n    image: x.local/i:1\n    command: [b]\n  - name: state-restore\n    resources: {limits: {memory: 1Gi}}\n" +
		"  volumes:\n  - name: cache\n    emptyDir: {}\n  securityContext: {runAsNonRoot: true, fsGroup: 2000}\n"
	if _, err := ParsePodTemplate(ok); err != nil {
		t.Errorf("allowed template rejected: %v", err)
	}
}
