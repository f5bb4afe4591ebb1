package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

func TestCleartextPassword(t *testing.T) {
	set, none, unknown := types.StringValue("pw-123456"), types.StringNull(), types.StringUnknown()
	for _, c := range []struct {
		url          string
		password, wo types.String
		want         string
	}{
		{"http://git.example/r.git", set, none, "source.password is set"},
		{"HTTP://git.example/r.git", set, none, "source.password is set"},
		{"http://git.example/r.git", none, set, "source.password_wo is set"},
		{"http://user:pw@git.example/r.git", none, none, "the URL holds credentials (user information before @)"},
		{"http://token@git.example/r.git", none, none, "the URL holds credentials (user information before @)"},
		{"http://git.example/r.git", none, none, ""},
		{"http://git.example/r.git", unknown, none, ""}, // checked again once known
		{"http://git.example/a@b.git", none, none, ""},  // an @ in the path is no user information
		{"https://git.example/r.git", set, none, ""},
		{"https://git.example/r.git", none, set, ""},
		{"ssh://git@git.example/r.git", none, none, ""},
		{"git@git.example:r.git", none, none, ""},
	} {
		if got := cleartextPassword(c.url, c.password, c.wo); got != c.want {
			t.Errorf("cleartextPassword(%q, %v, %v) = %q, want %q", c.url, c.password, c.wo, got, c.want)
		}
	}
}

// TestRunResource_WriteOnlyPlanValidation runs `terraform plan` (no cluster): a password
// over plain http:// is refused naming source.url and the fix, each write-only form
// conflicts with its plain form and needs secrets_wo_version, and the valid write-only
// configurations plan.
func TestRunResource_WriteOnlyPlanValidation(t *testing.T) {
	needTerraform(t)
	job := `job = {
    image           = "registry.example/runner:1.0"
    service_account = "runner"
  }`
	run := func(body string) string {
		return `provider "containerdriver" {}
resource "containerdriver_run" "test" {
  ` + job + `
  ` + body + `
}`
	}
	// The refusal names source.url, the password it would send and the fix.
	refused := func(what string) string {
		return `(?s)Password Over Plain HTTP.*source\.url is a plain http:// URL and\s+` + what + `.*Use\s+the\s+repository's\s+https://\s+URL,\s+or\s+an\s+SSH\s+URL`
	}
	steps := []struct{ body, want string }{
		{`source = { url = "http://git.example/r.git", password = "pw-123456" }`, refused(`source\.password\s+is\s+set`)},
		{`source = { url = "http://git.example/r.git", password_wo = "pw-123456" }
  secrets_wo_version = "1"`, refused(`source\.password_wo\s+is\s+set`)},
		{`source = { url = "http://user:pw-123456@git.example/r.git" }`, refused(`the\s+URL\s+holds\s+credentials`)},
		{`source = { url = "https://git.example/r.git", password = "pw-123456", password_wo = "pw-123456" }
  secrets_wo_version = "1"`, `(?s)Invalid Attribute Combination.*password_wo`},
		{`source = { url = "git@git.example:r.git", ssh_key = "key-123456", ssh_key_wo = "key-123456" }
  secrets_wo_version = "1"`, `(?s)Invalid Attribute Combination.*ssh_key_wo`},
		{`source = { url = "https://git.example/r.git", password_wo = "pw-123456" }`, `(?s)Invalid Attribute Combination.*secrets_wo_version`},
		{`credentials_json    = jsonencode({ a = "b-123456" })
  credentials_json_wo = jsonencode({ a = "b-123456" })
  secrets_wo_version  = "1"`, `(?s)Invalid Attribute Combination.*credentials_json_wo`},
		{`credentials_json_wo = jsonencode({ a = "b-123456" })`, `(?s)Invalid Attribute Combination.*secrets_wo_version`},
		{`credentials_json_wo = "[1, 2]"
  secrets_wo_version  = "1"`, `credentials_json_wo: a credentials string must hold a JSON object`},
		{`contract = "container-deployer"
  target = { manifest = "{}", content = "c-123456", content_wo = "c-123456" }
  secrets_wo_version = "1"`, `(?s)Invalid Attribute Combination.*content_wo`},
		{`contract = "container-deployer"
  target = { manifest = "{}", content_wo = "c-1" }
  secrets_wo_version = "1"`, `is shorter than 4 characters`},
	}
	var ts []resource.TestStep
	for _, s := range steps {
		ts = append(ts, resource.TestStep{Config: run(s.body), PlanOnly: true, ExpectError: regexp.MustCompile(s.want)})
	}
	// What is allowed plans: each write-only form with secrets_wo_version, and http://
	// without a password.
	for _, body := range []string{
		`source = { url = "https://git.example/r.git", password_wo = "pw-123456" }
  secrets_wo_version = "1"`,
		`source = { url = "git@git.example:r.git", ssh_key_wo = "key-123456" }
  secrets_wo_version = "1"`,
		`credentials_json_wo = jsonencode({ a = { b = "c-123456" } })
  credentials_config  = { environment = { C = "a.b" } }
  secrets_wo_version  = "1"`,
		`contract = "container-deployer"
  target = { manifest = "{}", content_wo = "c-123456" }
  secrets_wo_version = "1"`,
		`source = { url = "http://git.example/r.git" }`,
	} {
		ts = append(ts, resource.TestStep{Config: run(body), PlanOnly: true, ExpectNonEmptyPlan: true})
	}
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: ts})
}
