package provider

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// testProviders serves the provider in-process to the Terraform (or OpenTofu) binary
// named by TF_ACC_TERRAFORM_PATH.
var testProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"containerdriver": providerserver.NewProtocol6WithError(New("test")()),
}

// needTerraform skips a test that drives a Terraform binary when there is none to use:
// terraform-plugin-testing would otherwise try to download one.
func needTerraform(t *testing.T) {
	t.Helper()
	quietCLIConfig(t)
	p := cliPath()
	if p == "" {
		t.Skip("no Terraform binary: set TF_ACC_TERRAFORM_PATH")
	}
	if os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Setenv("TF_ACC_TERRAFORM_PATH", p)
	}
}

// cliPath is the Terraform (or OpenTofu) binary the acceptance tests drive, or "".
func cliPath() string {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/local/bin/terraform"); err == nil {
		return "/usr/local/bin/terraform"
	}
	return ""
}

// quietCLIConfig points the CLI at an empty configuration file when the one it would read
// (TF_CLI_CONFIG_FILE, else ~/.terraformrc) does not exist:
// OpenTofu otherwise prints a warning about the missing ~/.terraformrc on stdout, before
// its version, and the test framework cannot parse `tofu version`.
func quietCLIConfig(t *testing.T) {
	t.Helper()
	cfg := os.Getenv("TF_CLI_CONFIG_FILE")
	if cfg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(home, ".terraformrc")
		}
	}
	if _, err := os.Stat(cfg); err == nil {
		return
	}
	f := filepath.Join(t.TempDir(), "cli.tfrc")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_CLI_CONFIG_FILE", f)
}
