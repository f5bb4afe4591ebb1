package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// A runner that counts its runs in STATE_PATH sees 1 on create and 2 on an in-place
// update; destroy removes the state.
func TestAccRun_StateDirectory(t *testing.T) {
	e := newAccEnv(t)
	e.grantState(t)
	config := func(v int) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  state_path = "/state"
  inputs     = { count_state = true, v = %d }
}
`, e.jobBlock(""), v)
	}
	res := "containerdriver_run.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy:             e.noStateSecretsLeft(t),
		Steps: []resource.TestStep{
			{
				Config: config(1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("count"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("state_size"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("runner_status").AtMapKey("reason"), knownvalue.StringExact("Completed")),
					statecheck.ExpectKnownValue(res, tfjsonpath.New("runner_status").AtMapKey("exit_code"), knownvalue.Int64Exact(0)),
				},
			},
			{
				Config: config(2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(res, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("count"), knownvalue.Int64Exact(2)),
				},
			},
			{
				Config:             config(2),
				PlanOnly:           true,
				ExpectNonEmptyPlan: false,
			},
		},
	})
}

// An image written for the container deployer runs unchanged: OPERATION, the path
// variables, YAML exports read back as outputs; force_destroy skips the DELETE run.
func TestAccRun_DeployerContractForceDestroy(t *testing.T) {
	e := newAccEnv(t)
	e.grantState(t)
	config := e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  contract   = "container-deployer"
  state_path = "/state"
  target = {
    manifest = "kind: Target\nspec:\n  type: example\n"
    content  = "{\"foo\":\"bar\"}"
  }
  component_descriptor = jsonencode({ meta = { schemaVersion = "v2" }, components = [] })
  content              = { "blueprint/blueprint.yaml" = "kind: Blueprint" }
  inputs               = { count_state = true, bucket = "b-9" }
  force_destroy        = true
}
`, e.jobBlock(""))
	res := "containerdriver_run.test"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			if n := e.stateSecrets(t); n != 0 {
				return fmt.Errorf("%d state Secrets left after force destroy", n)
			}
			if jobs := e.ran("destroy"); len(jobs) != 0 {
				return fmt.Errorf("force_destroy ran destroy Jobs %v", jobs)
			}
			if len(e.ran("create")) == 0 {
				return fmt.Errorf("no create Job was recorded: the recorder sees nothing")
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("operation"), knownvalue.StringExact("RECONCILE")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("gid"), knownvalue.StringExact("3000")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("imports").AtMapKey("bucket"), knownvalue.StringExact("b-9")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("env_TARGET_PATH"), knownvalue.StringExact("/var/run/containerdriver/target/target.json")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("target_file"),
					knownvalue.StringExact(`{"content":"{\"foo\":\"bar\"}","target":{"kind":"Target","spec":{"type":"example"}}}`)),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("env_CONTENT_PATH"), knownvalue.StringExact("/var/run/containerdriver/content")),
				statecheck.ExpectKnownValue(res, tfjsonpath.New("outputs").AtMapKey("count"), knownvalue.Int64Exact(1)),
			},
		}},
	})
}
