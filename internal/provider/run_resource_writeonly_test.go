package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stateLacks fails when s is anywhere in the state (terraform show -json, which shows
// sensitive values in clear).
type stateLacks struct{ values []string }

func (c stateLacks) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	b, err := json.Marshal(req.State)
	if err != nil {
		resp.Error = err
		return
	}
	for _, v := range c.values {
		if strings.Contains(string(b), v) {
			resp.Error = fmt.Errorf("the write-only value %q is in the state", v)
			return
		}
	}
}

// TestAccRun_WriteOnlySecrets: write-only secrets reach the runner at create and at
// destroy, never the state; between the two they are kept in one Secret of the run's
// namespace, which a successful destroy deletes. Run by terraform and by OpenTofu.
func TestAccRun_WriteOnlySecrets(t *testing.T) {
	e := newAccEnv(t)
	const varCanary, fileCanary = "wo-var-CANARY-51d2", "wo-file-CANARY-9c7e"
	t.Setenv("TF_VAR_wo", varCanary)
	config := func(version string) string {
		return e.providerBlock() + fmt.Sprintf(`
variable "wo" {
  type      = string
  sensitive = true
}
resource "containerdriver_run" "test" {
  %s
  secret_variables_wo = { WO_TOKEN = var.wo }
  secret_files_wo     = { "wo.txt" = %q }
  secrets_wo_version  = %q
  inputs   = { print_forms = ["env:WO_TOKEN", "file:wo.txt"], v = %q }
  keep_job = true
}
`, e.jobBlock(""), fileCanary, version, version)
	}
	woSecrets := func() ([]string, error) {
		l, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/role=write-only-secrets"})
		if err != nil {
			return nil, err
		}
		var names []string
		for _, s := range l.Items {
			names = append(names, s.Name)
		}
		return names, nil
	}
	// The kept Jobs' raw pod logs show what the runner received (the provider masks them).
	runnerGot := func(action string) error {
		jobs := e.jobs(t, action)
		if len(jobs) == 0 {
			return fmt.Errorf("no kept %s Job", action)
		}
		log, err := e.runnerLog(jobs[len(jobs)-1])
		if err != nil {
			return err
		}
		for _, want := range []string{"env:WO_TOKEN raw=" + varCanary, "file:wo.txt raw=" + fileCanary} {
			if !strings.Contains(log, want) {
				return fmt.Errorf("the %s runner did not get the write-only secret (%q not in its log):\n%s", action, want, log)
			}
		}
		return nil
	}
	lacks := stateLacks{values: []string{varCanary, fileCanary}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			if err := runnerGot("destroy"); err != nil {
				return err
			}
			names, err := woSecrets()
			if err != nil {
				return err
			}
			if len(names) != 0 {
				return fmt.Errorf("write-only secrets left after destroy: %v", names)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:            config("1"),
				ConfigStateChecks: []statecheck.StateCheck{lacks},
				Check: func(*terraform.State) error {
					if err := runnerGot("create"); err != nil {
						return err
					}
					names, err := woSecrets()
					if err != nil {
						return err
					}
					if len(names) != 1 || !strings.HasSuffix(names[0], "-write-only-secrets") {
						return fmt.Errorf("kept write-only secrets: %v, want one Secret", names)
					}
					return nil
				},
			},
			{
				// A new version runs again; the state still lacks the values.
				Config:            config("2"),
				ConfigStateChecks: []statecheck.StateCheck{lacks},
			},
		},
	})
}

func TestRunResource_WriteOnlyPlanChecks(t *testing.T) {
	needTerraform(t)
	steps := []struct{ config, want string }{
		{validRunPrefix + "  }\n  secret_variables_wo = { T = \"long-enough\" }\n}", `secrets_wo_version`},
		{validRunPrefix + "    secret_variables = { T = \"long-enough\" }\n  }\n  secret_variables_wo = { T = \"other-value\" }\n  secrets_wo_version = \"1\"\n}", `secret_variables_wo\["T"\] is also set in\s+job.secret_variables`},
		{validRunPrefix + "  }\n  secret_variables_wo = { ACTION = \"long-enough\" }\n  secrets_wo_version = \"1\"\n}", `is set by the driver`},
		{validRunPrefix + "  }\n  secret_files_wo = { \"f\" = \"ab\" }\n  secrets_wo_version = \"1\"\n}", `shorter than 4 characters`},
	}
	var ts []resource.TestStep
	for _, s := range steps {
		ts = append(ts, resource.TestStep{Config: `provider "containerdriver" {}` + "\n" + s.config, PlanOnly: true, ExpectError: regexp.MustCompile(s.want)})
	}
	resource.UnitTest(t, resource.TestCase{ProtoV6ProviderFactories: testProviders, Steps: ts})
}

// A create that fails before its runner starts records nothing, so the write-only secrets
// kept for its destroy are deleted at once instead of staying in the namespace forever.
func TestAccRun_WriteOnlySecretsOfAnUnrecordedCreateGo(t *testing.T) {
	e := newAccEnv(t)
	config := e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  job = {
    image           = "containerdriver.local/does-not-exist:1"
    namespace       = %q
    service_account = "runner"
  }
  secret_variables_wo = { WO_TOKEN = "wo-var-never-ran" }
  secrets_wo_version  = "1"
}
`, e.ns)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		Steps: []resource.TestStep{{
			Config:      config,
			ExpectError: regexp.MustCompile(`could not be pulled`),
		}, {
			// Nothing is in the state; the namespace holds no write-only Secret.
			Config:   config,
			PlanOnly: true, ExpectNonEmptyPlan: true,
			PreConfig: func() {
				l, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/role=write-only-secrets"})
				if err != nil {
					t.Fatal(err)
				}
				if len(l.Items) != 0 {
					t.Errorf("write-only Secrets left by a create that never ran: %d", len(l.Items))
				}
			},
		}},
	})
}
