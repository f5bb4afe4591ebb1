package provider

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// TestRunResource_PodTemplateBypasses runs `terraform plan` on every way a pod_template
// could strip the contract or the pod's confinement, on a run and on a runner, and
// expects a plan-time error naming the field. No cluster is involved.
func TestRunResource_PodTemplateBypasses(t *testing.T) {
	needTerraform(t)
	bypasses := []struct{ doc, want string }{
		// The four the issue measured passing `terraform plan`.
		{"spec:\n  containers:\n  - name: runner\n    env: null\n", `spec\.containers\[runner\]\.env cannot be null`},
		{"spec:\n  containers:\n  - name: runner\n    volumeMounts: null\n", `spec\.containers\[runner\]\.volumeMounts cannot be null`},
		{"spec:\n  initContainers: null\n", `spec\.initContainers cannot be null`},
		{"spec:\n  serviceAccountName: other\n", `spec\.serviceAccountName cannot be set`},
		// The rest of the list.
		{"spec:\n  containers:\n  - name: runner\n    command: null\n", `spec\.containers\[runner\]\.command cannot be null`},
		{"spec:\n  containers: null\n", `spec\.containers cannot be null`},
		{"spec:\n  volumes: null\n", `spec\.volumes cannot be null`},
		{"spec:\n  initContainers:\n  - name: state-restore\n    command: [sh]\n", `spec\.initContainers\[state-restore\]\.command cannot be overridden`},
		{"spec:\n  automountServiceAccountToken: true\n", `spec\.automountServiceAccountToken cannot be set`},
		{"spec:\n  containers:\n  - name: runner\n    securityContext: {privileged: true}\n", `spec\.containers\[runner\]\.securityContext\.privileged cannot be true`},
		{"spec:\n  containers:\n  - name: runner\n    securityContext: {runAsUser: 0}\n", `spec\.containers\[runner\]\.securityContext\.runAsUser cannot be 0`},
		{"spec:\n  securityContext: {runAsNonRoot: false}\n", `spec\.securityContext\.runAsNonRoot cannot be false`},
		{"spec:\n  hostNetwork: true\n", `spec\.hostNetwork cannot be true`},
		{"spec:\n  hostPID: true\n", `spec\.hostPID cannot be true`},
		{"spec:\n  hostIPC: true\n", `spec\.hostIPC cannot be true`},
		{"spec:\n  volumes:\n  - name: shared-directory\n    hostPath: {path: /}\n", `spec\.volumes\[shared-directory\] cannot be overridden`},
		{"spec:\n  volumes:\n  - name: host\n    hostPath: {path: /}\n", `spec\.volumes\[host\]\.hostPath cannot be used`},
		{"spec:\n  containers:\n  - name: runner\n    $patch: delete\n", `spec\.containers\[runner\]\.\$patch cannot be used`},
	}
	var steps []resource.TestStep
	for _, b := range bypasses {
		for _, config := range []string{
			validRunPrefix + "    pod_template = " + hclString(b.doc) + "\n  }\n}",
			`resource "containerdriver_runner" "test" {` + "\n  pod_template = " + hclString(b.doc) + "\n}",
		} {
			steps = append(steps, resource.TestStep{
				Config:      `provider "containerdriver" {}` + "\n" + config,
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`Invalid Pod Template(.|\n)*` + b.want),
			})
		}
	}
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: steps})
}

// hclString is s as an HCL quoted string.
func hclString(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(strconv.Quote(s), "${", "$${"), "%{", "%%{")
}

// TestRunResource_ManifestsSensitive: manifests may hold secret outputs, so an output of
// it that is not marked sensitive fails the plan, as one of secret_outputs does.
func TestRunResource_ManifestsSensitive(t *testing.T) {
	needTerraform(t)
	run := validRunPrefix + "  }\n  manifests_output = \"manifests\"\n}\n"
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: []resource.TestStep{
		{
			Config:      `provider "containerdriver" {}` + "\n" + run + `output "m" { value = containerdriver_run.test.manifests }`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Output refers to sensitive values`),
		},
		{
			Config:             `provider "containerdriver" {}` + "\n" + run + "output \"m\" {\n  value     = containerdriver_run.test.manifests\n  sensitive = true\n}\n",
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		},
	}})
}
