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

// TestAccRun_JSONAndDurationSemanticEquality: credentials_json and component_descriptor
// are jsontypes.Normalized, unschedulable_grace is timetypes.GoDuration. After an apply,
// the same JSON reformatted (whitespace, key order) and the same duration written
// otherwise ("300s" for "5m") plan an update of the text only: the outputs stay known and
// the apply runs no Job. Another JSON value runs the container again. (Terraform requires
// the plan to hold the configuration's text, so the diff itself cannot be hidden.)
func TestAccRun_JSONAndDurationSemanticEquality(t *testing.T) {
	e := newAccEnv(t)
	config := func(creds, descriptor, grace string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  credentials_json    = %q
  credentials_config  = { environment = { K = "aws.k" } }
  unschedulable_grace = %q
  inputs              = { echo_env = ["K"] }
}

resource "containerdriver_run" "deployer" {
  %s
  contract             = "container-deployer"
  component_descriptor = %q
  inputs               = {}
}
`, e.jobBlock(""), creds, grace, e.jobBlock(""), descriptor)
	}
	const (
		creds       = `{"aws":{"k":"vvvv","r":"eu"}}`
		descriptor  = `{"meta":{"schemaVersion":"v2"},"components":[]}`
		descriptor2 = "{ \"components\": [ ],\n  \"meta\": { \"schemaVersion\": \"v2\" } }"
	)
	envK := tfjsonpath.New("outputs").AtMapKey("env_K")
	operation := tfjsonpath.New("outputs").AtMapKey("operation")
	createJobs := func(n int) func(*terraform.State) error {
		return func(*terraform.State) error {
			if got := e.ran("create"); len(got) != n {
				return fmt.Errorf("want %d create Jobs in %s, saw %v", n, e.ns, got)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{
				Config:            config(creds, descriptor, "5m"),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue("containerdriver_run.test", envK, knownvalue.StringExact("vvvv"))},
				Check:             createJobs(2),
			},
			{
				Config: config("{\n  \"aws\": { \"r\": \"eu\", \"k\": \"vvvv\" }\n}\n", descriptor2, "300s"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("containerdriver_run.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("containerdriver_run.deployer", plancheck.ResourceActionUpdate),
					// Known outputs: the plan does not run the container again.
					plancheck.ExpectKnownValue("containerdriver_run.test", envK, knownvalue.StringExact("vvvv")),
					plancheck.ExpectKnownValue("containerdriver_run.deployer", operation, knownvalue.StringExact("RECONCILE")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("containerdriver_run.deployer", tfjsonpath.New("component_descriptor"), knownvalue.StringExact(descriptor2)),
					statecheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("unschedulable_grace"), knownvalue.StringExact("300s")),
				},
				Check: createJobs(2),
			},
			{
				Config: config(`{"aws":{"k":"wwww","r":"eu"}}`, descriptor2, "300s"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("containerdriver_run.test", tfjsonpath.New("outputs")),
					plancheck.ExpectKnownValue("containerdriver_run.deployer", operation, knownvalue.StringExact("RECONCILE")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue("containerdriver_run.test", envK, knownvalue.StringExact("wwww"))},
				Check:             createJobs(3),
			},
		},
	})
}
