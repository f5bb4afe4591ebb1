package provider

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/config"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// TestImportState_IDs imports without a cluster: a malformed id is refused with the
// format to use; a good one gives the identity (id, namespace) and nothing else.
func TestImportState_IDs(t *testing.T) {
	needTerraform(t)
	cfg := `provider "containerdriver" {}
resource "containerdriver_run" "test" {
  job = { image = "registry.example/runner:1.0", service_account = "runner", namespace = "ns1" }
}
resource "containerdriver_runner" "test" {
  namespace       = "ns1"
  service_account = "sa1"
}
`
	const runID = "0b6f3c1e-5d2a-4f7e-9c1b-2a3d4e5f6a7b"
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{
			{Config: cfg, ResourceName: "containerdriver_run.test", ImportState: true, ImportStateId: runID,
				ExpectError: regexp.MustCompile(`(?s)Invalid Import ID.*NAMESPACE/RUN_ID`)},
			{Config: cfg, ResourceName: "containerdriver_run.test", ImportState: true, ImportStateId: "Bad_NS/" + runID,
				ExpectError: regexp.MustCompile(`not a valid namespace name`)},
			{Config: cfg, ResourceName: "containerdriver_runner.test", ImportState: true, ImportStateId: "ns1/sa1/x",
				ExpectError: regexp.MustCompile(`(?s)Invalid Import ID.*NAMESPACE/SERVICE_ACCOUNT`)},
			{
				Config: cfg, ResourceName: "containerdriver_run.test", ImportState: true, ImportStateId: "ns1/" + runID,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("want 1 imported instance, got %d", len(states))
					}
					a := states[0].Attributes
					for k, want := range map[string]string{"id": runID, "namespace": "ns1", "job.namespace": "ns1"} {
						if a[k] != want {
							return fmt.Errorf("%s = %q, want %q (all: %v)", k, a[k], want, a)
						}
					}
					if _, ok := a["outputs"]; ok && a["outputs"] != "" {
						return fmt.Errorf("import invented outputs: %q", a["outputs"])
					}
					return nil
				},
			},
			{
				Config: cfg, ResourceName: "containerdriver_runner.test", ImportState: true, ImportStateId: "ns1/sa1",
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					if a["id"] != "ns1/sa1" || a["namespace"] != "ns1" || a["service_account"] != "sa1" {
						return fmt.Errorf("imported runner: %v", a)
					}
					return nil
				},
			},
		},
	})
}

// lazyString is a configuration variable whose value is computed when the step runs, so
// a step can use what an earlier one produced (the run id).
type lazyString func() string

func (l lazyString) MarshalJSON() ([]byte, error) { return json.Marshal(l()) }

// TestAccRun_ImportKeepsIdentity moves a run from one resource address to another as a
// user moving it between root modules would: the state forgets it (removed, without
// destroy), an import block adopts it by NAMESPACE/RUN_ID, and the next apply runs the
// container in place with the same CONTAINERDRIVER_RUN_ID, finding the state directory it
// kept (its counter goes on from 1 to 2). Nothing runs ACTION=destroy until the end.
func TestAccRun_ImportKeepsIdentity(t *testing.T) {
	e := newAccEnv(t)
	e.grantState(t)
	run := func(name string, v int) string {
		return fmt.Sprintf(`
resource "containerdriver_run" %q {
  %s
  state_path = "/state"
  inputs     = { count_state = true, v = %d, echo_env = ["CONTAINERDRIVER_RUN_ID"] }
}
`, name, e.jobBlock(""), v)
	}
	var runID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy:             e.noStateSecretsLeft(t),
		Steps: []resource.TestStep{
			{
				Config: e.providerBlock() + run("before", 1),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("containerdriver_run.before", tfjsonpath.New("outputs").AtMapKey("count"), knownvalue.Int64Exact(1)),
				},
				Check: func(s *terraform.State) error {
					runID = s.RootModule().Resources["containerdriver_run.before"].Primary.ID
					if runID == "" {
						return fmt.Errorf("no run id")
					}
					return nil
				},
			},
			{
				// The state forgets the run; nothing runs in the cluster.
				Config: e.providerBlock() + `
removed {
  from = containerdriver_run.before
  lifecycle {
    destroy = false
  }
}
`,
				Check: func(*terraform.State) error {
					if n := e.stateSecrets(t); n == 0 {
						return fmt.Errorf("forgetting the run removed its state Secrets")
					}
					if jobs := e.ran("destroy"); len(jobs) != 0 {
						return fmt.Errorf("forgetting the run ran ACTION=destroy (Jobs %v)", jobs)
					}
					return nil
				},
			},
			{
				Config: e.providerBlock() + `
variable "import_id" { type = string }
import {
  to = containerdriver_run.after
  id = var.import_id
}
` + run("after", 2),
				ConfigVariables: config.Variables{"import_id": lazyString(func() string { return e.ns + "/" + runID })},
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("containerdriver_run.after", plancheck.ResourceActionUpdate)},
				},
				Check: func(s *terraform.State) error {
					a := s.RootModule().Resources["containerdriver_run.after"].Primary.Attributes
					if a["id"] != runID {
						return fmt.Errorf("the imported run has id %q, want %q", a["id"], runID)
					}
					if a["outputs.env_CONTAINERDRIVER_RUN_ID"] != runID {
						return fmt.Errorf("the runner saw CONTAINERDRIVER_RUN_ID %q, want %q", a["outputs.env_CONTAINERDRIVER_RUN_ID"], runID)
					}
					if a["outputs.count"] != "2" {
						return fmt.Errorf("the runner's state counter is %q, want 2: it did not find the state kept under the run id", a["outputs.count"])
					}
					return nil
				},
			},
		},
	})
}
