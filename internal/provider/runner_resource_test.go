package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAccRunner_ManagedEnvironment creates a namespace and service account with
// containerdriver_runner, runs in them through runner = ...config, and deletes them.
func TestAccRunner_ManagedEnvironment(t *testing.T) {
	e := newAccEnv(t)
	ns := "cd-acc-runner-" + strings.ToLower(newRunID()[:8])
	t.Cleanup(func() {
		_ = e.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	config := e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_runner" "main" {
  namespace              = %q
  service_account        = "runs"
  create_namespace       = true
  create_service_account = true
  extra_rules = [{
    api_groups = [""]
    resources  = ["secrets"]
    verbs      = ["get", "list", "create", "update", "delete"]
  }]
}

resource "containerdriver_run" "test" {
  runner = containerdriver_runner.main.config
  job = {
    image   = %q
    command = ["/testrunner"]
  }
  inputs = { outputs = { hello = "from the runner's namespace" } }
}
`, ns, e.runner)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			_, err := e.client.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
			switch {
			case err == nil:
				return fmt.Errorf("namespace %s still exists after destroy", ns)
			case !apierrors.IsNotFound(err):
				return err
			}
			return nil
		},
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("namespace"), knownvalue.StringExact(ns)),
				statecheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("outputs").AtMapKey("hello"),
					knownvalue.StringExact("from the runner's namespace")),
				statecheck.ExpectKnownValue("containerdriver_run.test", tfjsonpath.New("outputs").AtMapKey("uid"), knownvalue.StringExact("1000")),
			},
			Check: func(*terraform.State) error {
				ctx := context.Background()
				n, err := e.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				if err != nil {
					return err
				}
				if n.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
					return fmt.Errorf("namespace labels %v", n.Labels)
				}
				role, err := e.client.RbacV1().Roles(ns).Get(ctx, "runs", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if len(role.Rules) != 2 || role.Rules[0].Verbs[0] != "create" || role.Rules[1].Verbs[0] != "get" {
					return fmt.Errorf("role rules %+v", role.Rules)
				}
				return nil
			},
		}, {
			// Moving the runner to another namespace replaces the runs using it.
			Config:             strings.Replace(config, fmt.Sprintf("namespace              = %q", ns), `namespace              = "moved"`, 1),
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPreRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("containerdriver_runner.main", plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectResourceAction("containerdriver_run.test", plancheck.ResourceActionDestroyBeforeCreate),
				},
			},
		}},
	})
}
