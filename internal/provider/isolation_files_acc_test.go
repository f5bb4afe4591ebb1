package provider

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A runner that makes its error file a symbolic link to the sidecars' token gets the link
// refused, named in the diagnostic, instead of the token printed by terraform apply.
func TestAccRun_HostileErrorFileLink(t *testing.T) {
	e := newAccEnv(t)
	config := e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs = {
    fail     = "see the error file"
    fail_on  = "create"
    plant_on = "create"
    plant    = [{ path = "$ERROR_FILE", kind = "symlink", target = %q }]
  }
}
`, e.jobBlock(""), contract.APIAccessMountPath+"/token")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`(?s)Container Run Failed.*error\.txt was refused: it is a symbolic link`),
		}},
	})
}
