package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestAccRunner_ImportAdoptsManagedObjects moves a runner that manages its service
// account to another address: the state forgets it (removed, without destroy), an import
// block adopts it by NAMESPACE/SERVICE_ACCOUNT, and the next apply takes the service
// account, Role and RoleBinding it created before as its own (an in-place update), so
// that destroy deletes them.
func TestAccRunner_ImportAdoptsManagedObjects(t *testing.T) {
	e := newAccEnv(t)
	runner := func(name string) string {
		return fmt.Sprintf(`
resource "containerdriver_runner" %q {
  namespace              = %q
  service_account        = "imported"
  create_service_account = true
}
`, name, e.ns)
	}
	saExists := func() error {
		ctx := context.Background()
		if _, err := e.client.CoreV1().ServiceAccounts(e.ns).Get(ctx, "imported", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("service account: %w", err)
		}
		if _, err := e.client.RbacV1().Roles(e.ns).Get(ctx, "imported", metav1.GetOptions{}); err != nil {
			return fmt.Errorf("role: %w", err)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			_, err := e.client.CoreV1().ServiceAccounts(e.ns).Get(context.Background(), "imported", metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return fmt.Errorf("the adopted service account is still there after destroy (%w)", err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: e.providerBlock() + runner("before"), Check: func(*terraform.State) error { return saExists() }},
			{
				Config: e.providerBlock() + `
removed {
  from = containerdriver_runner.before
  lifecycle {
    destroy = false
  }
}
`,
				Check: func(*terraform.State) error { return saExists() },
			},
			{
				Config: e.providerBlock() + fmt.Sprintf(`
import {
  to = containerdriver_runner.after
  id = "%s/imported"
}
`, e.ns) + runner("after"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("containerdriver_runner.after", plancheck.ResourceActionUpdate)},
				},
				Check: func(s *terraform.State) error {
					if id := s.RootModule().Resources["containerdriver_runner.after"].Primary.ID; id != e.ns+"/imported" {
						return fmt.Errorf("imported runner id %q", id)
					}
					return saExists()
				},
			},
		},
	})
}
