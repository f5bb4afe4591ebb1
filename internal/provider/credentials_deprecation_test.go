package provider

import (
	"strings"
	"testing"
)

// `credentials` warns at plan time that core logs its value; credentials_json does not.
func TestRunResource_CredentialsDeprecated(t *testing.T) {
	c := newCLI(t)
	config := func(creds string) string {
		return `provider "containerdriver" {
  config_path = "/nonexistent"
}
resource "containerdriver_run" "test" {
  job = {
    image           = "registry.example.com/runner:1"
    service_account = "runner"
  }
  ` + creds + `
  credentials_config = { environment = { K = "aws.k" } }
}
`
	}
	c.write(config(`credentials = { aws = { k = "vvvv" } }`))
	out := c.must("plan with credentials", "plan")
	if !strings.Contains(out, "Warning: Deprecated attribute") && !strings.Contains(out, "Warning: Attribute Deprecated") {
		t.Errorf("no deprecation warning for credentials:\n%s", out)
	}
	if !strings.Contains(strings.Join(strings.Fields(out), " "), "Use credentials_json = jsonencode(<the same object>) instead") {
		t.Errorf("the warning does not name credentials_json:\n%s", out)
	}
	c.write(config(`credentials_json = jsonencode({ aws = { k = "vvvv" } })`))
	if out := c.must("plan with credentials_json", "plan"); strings.Contains(out, "Deprecated") {
		t.Errorf("credentials_json warns:\n%s", out)
	}
}
