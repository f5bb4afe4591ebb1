package provider

import (
	"os"
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
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return
	}
	if _, err := os.Stat("/usr/local/bin/terraform"); err == nil {
		t.Setenv("TF_ACC_TERRAFORM_PATH", "/usr/local/bin/terraform")
		return
	}
	t.Skip("no Terraform binary: set TF_ACC_TERRAFORM_PATH")
}
