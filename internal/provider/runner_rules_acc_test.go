package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/runnerenv"
	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAccRunner_AllowStatePath: the Role of a managed service account holds only the
// outputs' rules, so a run with state_path stops at pre-checks naming what is missing;
// allow_state_path adds exactly the state's rules, and the run keeps its state with them.
func TestAccRunner_AllowStatePath(t *testing.T) {
	e := newAccEnv(t)
	const sa = "state-runs"
	config := func(allow bool, v int) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_runner" "main" {
  namespace              = %q
  service_account        = %q
  create_service_account = true
  allow_state_path       = %v
}

resource "containerdriver_run" "test" {
  runner = containerdriver_runner.main.config
  job = {
    image   = %q
    command = ["/testrunner"]
  }
  state_path = "/state"
  inputs     = { count_state = true, v = %d }
}
`, e.ns, sa, allow, e.runner, v)
	}
	role := func(want bool) func(*terraform.State) error {
		return func(*terraform.State) error {
			r, err := e.client.RbacV1().Roles(e.ns).Get(context.Background(), sa, metav1.GetOptions{})
			if err != nil {
				return err
			}
			rules := runnerenv.SidecarRules()
			if want {
				rules = append(rules, runnerenv.StateRules()...)
			}
			if d := cmp.Diff(rules, r.Rules); d != "" {
				return fmt.Errorf("role rules (-want +got):\n%s", d)
			}
			return nil
		}
	}
	res := "containerdriver_run.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy:             e.noStateSecretsLeft(t),
		Steps: []resource.TestStep{
			{
				Config:      config(false, 1),
				ExpectError: regexp.MustCompile(`(?s)may not get secrets or list secrets or update secrets or delete secrets.*state-restore`),
			},
			{
				// The framework runs no Check after a step whose apply failed, so the Role
				// the failed step left is compared here, before this step changes it.
				PreConfig: func() {
					if err := role(false)(nil); err != nil {
						t.Errorf("without allow_state_path: %v", err)
					}
				},
				Config: config(true, 1),
				Check:  role(true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("count"), knownvalue.Int64Exact(1)),
				},
			},
			{
				Config: config(true, 2),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("count"), knownvalue.Int64Exact(2)),
				},
			},
		},
	})
}

func TestRunnerResource_AllowStatePathNeedsManagedRole(t *testing.T) {
	needTerraform(t)
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: []resource.TestStep{{
		Config: `provider "containerdriver" {}
resource "containerdriver_runner" "main" {
  allow_state_path = true
}`,
		PlanOnly:    true,
		ExpectError: regexp.MustCompile(`allow_state_path adds rules to the Role this resource creates`),
	}}})
}
