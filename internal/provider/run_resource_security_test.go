package provider

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
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
		// Issue 23: spellings that Go's case-insensitive JSON let through, and what the final
		// pod's allow-list refuses.
		{"spec:\n  automountserviceaccounttoken: true\n", `unknown field "spec\.automountserviceaccounttoken"`},
		{"spec:\n  ShareProcessNamespace: true\n", `unknown field "spec\.ShareProcessNamespace"`},
		{"spec:\n  HostPID: true\n", `unknown field "spec\.HostPID"`},
		{"spec:\n  serviceaccountname: other\n", `unknown field "spec\.serviceaccountname"`},
		{"spec:\n  containers:\n  - name: runner\n    envFrom: [{secretRef: {name: other}}]\n", `spec\.containers\[runner\]\.envFrom cannot be overridden`},
		{"spec:\n  initContainers:\n  - name: pre-checks\n    restartPolicy: Always\n", `spec\.initContainers\[pre-checks\]\.restartPolicy cannot be overridden`},
		{"spec:\n  containers:\n  - name: runner\n    terminationMessagePath: /tmp/m\n", `spec\.containers\[runner\]\.terminationMessagePath cannot be overridden`},
		{"spec:\n  containers:\n  - name: helper\n    image: x.local/h:1\n", `spec\.containers\[helper\]\.securityContext lacks allowPrivilegeEscalation`},
		{"metadata:\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/runner: unconfined\n", `container\.apparmor\.security\.beta\.kubernetes\.io/runner\] cannot be unconfined`},
		{"spec:\n  hostPID: false\n  hostPID: true\n", `key "hostPID" already set`},
	}
	var steps []resource.TestStep
	for _, b := range bypasses {
		for _, config := range []string{
			validRunPrefix + "    pod_template = " + hclString(b.doc) + "\n  }\n}",
			`resource "containerdriver_runner" "test" {` + "\n  pod_template = " + hclString(b.doc) + "\n}",
		} {
			steps = append(steps, resource.TestStep{
				Config:   `provider "containerdriver" {}` + "\n" + config,
				PlanOnly: true,
				// The CLI wraps the detail where it likes.
				ExpectError: regexp.MustCompile(`Invalid Pod Template(.|\n)*` + strings.ReplaceAll(b.want, " ", `\s+`)),
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

// TestRunResource_SourceChecks: a URL with credentials fails the plan without showing
// them; an SSH source without known_hosts plans with a warning.
func TestRunResource_SourceChecks(t *testing.T) {
	needTerraform(t)
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: []resource.TestStep{
		{
			Config:      `provider "containerdriver" {}` + "\n" + validRunPrefix + "  }\n  source = { url = \"https://u:ghp_CANARY42@git.example/o/r.git\" }\n}\n",
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)source\.url.*must not hold credentials.*source\.username and\s+source\.password`),
		},
	}})
	// The value itself is not in the diagnostic.
	if err := containerdriver.ValidateGitURL("https://u:ghp_CANARY42@git.example/o/r.git"); err == nil || strings.Contains(err.Error(), "CANARY") {
		t.Errorf("ValidateGitURL = %v, want an error that does not show the token", err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		url, knownHosts string
		warn            bool
	}{
		{"git@github.com:o/r.git", "", true},
		{"ssh://git@host/o/r.git", "host ssh-ed25519 AAAA", false},
		{"https://host/o/r.git", "", false},
	} {
		resp := &validator.ObjectResponse{}
		obj := map[string]attr.Value{"url": types.StringValue(c.url), "known_hosts": types.StringValue(c.knownHosts)}
		if c.knownHosts == "" {
			obj["known_hosts"] = types.StringNull()
		}
		sshHostKeyWarning{}.ValidateObject(ctx, sourceRequest(t, obj), resp)
		if got := resp.Diagnostics.WarningsCount() == 1; got != c.warn {
			t.Errorf("url %q, known_hosts %q: warning %v, want %v", c.url, c.knownHosts, got, c.warn)
		}
	}
}

// sourceRequest is the validator request for a run whose only attribute is source = obj.
func sourceRequest(t *testing.T, obj map[string]attr.Value) validator.ObjectRequest {
	t.Helper()
	ctx := context.Background()
	s := runSchema(ctx)
	typ := s.Type().TerraformType(ctx).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	srcType := typ.AttributeTypes["source"].(tftypes.Object)
	src := map[string]tftypes.Value{}
	for name, at := range srcType.AttributeTypes {
		src[name] = tftypes.NewValue(at, nil)
		if v, ok := obj[name]; ok {
			tv, err := v.ToTerraformValue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			src[name] = tv
		}
	}
	vals["source"] = tftypes.NewValue(srcType, src)
	attrTypes := map[string]attr.Type{}
	for name := range srcType.AttributeTypes {
		attrTypes[name] = types.StringType
	}
	ov, d := types.ObjectValue(attrTypes, func() map[string]attr.Value {
		m := map[string]attr.Value{}
		for name := range attrTypes {
			m[name] = types.StringNull()
		}
		for k, v := range obj {
			m[k] = v
		}
		return m
	}())
	if d.HasError() {
		t.Fatal(d)
	}
	return validator.ObjectRequest{
		Path:        path.Root("source"),
		ConfigValue: ov,
		Config:      tfsdk.Config{Schema: s, Raw: tftypes.NewValue(typ, vals)},
	}
}

// TestAccRun_CredentialsJSONKeptOutOfCoreLog applies a run with credentials_json, plans it
// again (Terraform upgrades and refreshes the state), all with TF_LOG=trace, and expects
// the value nowhere in the log. Core prints dynamic values (credentials) at DEBUG, which
// the test logs for comparison.
func TestAccRun_CredentialsJSONKeptOutOfCoreLog(t *testing.T) {
	e := newAccEnv(t)
	logPath := filepath.Join(t.TempDir(), "terraform.log")
	t.Setenv("TF_ACC_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	// From the environment, so the configuration (which the log shows) holds no canary.
	const dynCanary, jsonCanary = "dyn-CANARY-7f3a9c", "json-CANARY-4b8e1d"
	t.Setenv("TF_VAR_dyn", dynCanary)
	t.Setenv("TF_VAR_json", jsonCanary)
	config := e.providerBlock() + fmt.Sprintf(`
variable "dyn" {
  type      = string
  sensitive = true
}
variable "json" {
  type      = string
  sensitive = true
}
resource "containerdriver_run" "dynamic" {
  %s
  credentials        = { aws = { secret = var.dyn } }
  credentials_config = { environment = { SECRET = "aws.secret" } }
}
resource "containerdriver_run" "json" {
  %s
  credentials_json   = jsonencode({ aws = { secret = var.json } })
  credentials_config = { environment = { SECRET = "aws.secret" } }
}
`, e.jobBlock(""), e.jobBlock(""))
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: []resource.TestStep{
		{Config: config},
		{Config: config, PlanOnly: true},
	}})
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	t.Logf("trace log: %d bytes; credentials (dynamic) value %d times, credentials_json value %d times",
		len(log), strings.Count(log, dynCanary), strings.Count(log, jsonCanary))
	if !strings.Contains(log, "UpgradeResourceState") {
		t.Errorf("the trace log does not show the state being upgraded: the test did not exercise core's debug lines")
	}
	for _, form := range []string{jsonCanary, base64.StdEncoding.EncodeToString([]byte(jsonCanary))} {
		if n := strings.Count(log, form); n > 0 {
			t.Errorf("credentials_json's value (%q) is %d times in the TF_LOG=trace log", form, n)
		}
	}
}

func TestRunResource_CredentialsJSONPlanChecks(t *testing.T) {
	needTerraform(t)
	steps := []struct{ config, want string }{
		{validRunPrefix + "  }\n  credentials_json = \"not json\"\n  credentials_config = { file = \"c.json\" }\n}", `credentials_json: a credentials string must hold a JSON object`},
		{validRunPrefix + "  }\n  credentials = { a = \"bbbb\" }\n  credentials_json = \"{}\"\n  credentials_config = { file = \"c.json\" }\n}", `Invalid Attribute Combination`},
		{validRunPrefix + "  }\n  credentials_config = { file = \"c.json\" }\n}", `credentials`},
	}
	var ts []resource.TestStep
	for _, s := range steps {
		ts = append(ts, resource.TestStep{Config: `provider "containerdriver" {}` + "\n" + s.config, PlanOnly: true, ExpectError: regexp.MustCompile(s.want)})
	}
	// credentials_json alone satisfies credentials_config.
	ts = append(ts, resource.TestStep{
		Config:             `provider "containerdriver" {}` + "\n" + validRunPrefix + "  }\n  credentials_json = jsonencode({ aws = { k = \"vvvv\" } })\n  credentials_config = { environment = { K = \"aws.k\" } }\n}",
		PlanOnly:           true,
		ExpectNonEmptyPlan: true,
	})
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: ts})
}
