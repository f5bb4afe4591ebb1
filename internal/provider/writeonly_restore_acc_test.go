package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAccRun_FailedUpdateKeepsTheWriteOnlySecretsOfTheLastSuccess: an update with new
// write-only values fails; the state keeps the last successful run, and so does the
// Secret that keeps the write-only values for destroy, which then gets the old value.
func TestAccRun_FailedUpdateKeepsTheWriteOnlySecretsOfTheLastSuccess(t *testing.T) {
	e := newAccEnv(t)
	config := func(version, value, fail string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  secret_variables_wo = { WO = %q }
  secrets_wo_version  = %q
  inputs   = { print_forms = ["env:WO"]%s }
  keep_job = true
}
`, e.jobBlock(""), value, version, fail)
	}
	kept := func() (string, error) {
		l, err := e.client.CoreV1().Secrets(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "containerdriver.io/role=write-only-secrets"})
		if err != nil {
			return "", err
		}
		if len(l.Items) != 1 {
			return "", fmt.Errorf("%d write-only Secrets, want 1", len(l.Items))
		}
		var wo struct {
			SecretVariables map[string]string `json:"secret_variables"`
		}
		if err := json.Unmarshal(l.Items[0].Data["write-only.json"], &wo); err != nil {
			return "", err
		}
		return wo.SecretVariables["WO"], nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			jobs := e.jobs(t, "destroy")
			if len(jobs) != 1 {
				return fmt.Errorf("%d kept destroy Jobs, want 1", len(jobs))
			}
			log, err := e.runnerLog(jobs[0])
			if err != nil {
				return err
			}
			if !strings.Contains(log, "env:WO raw=wo-value-one\n") {
				return fmt.Errorf("destroy did not get the write-only value of the last successful run:\n%s", log)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: config("1", "wo-value-one", "")},
			{
				Config:      config("2", "wo-value-two", `, fail = "failing as asked", fail_on = "create"`),
				ExpectError: regexp.MustCompile(`failing as asked`),
			},
			{
				PreConfig: func() {
					v, err := kept()
					if err != nil {
						t.Error(err)
					} else if v != "wo-value-one" {
						t.Errorf("after the failed update the kept write-only value is %q, want the last successful run's", v)
					}
				},
				Config:   config("1", "wo-value-one", ""),
				PlanOnly: true,
			},
		},
	})
}
