package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// TestAccRun_JobLimits checks, on the Jobs a create, an update and a destroy really made
// (recorded as they appeared, before cleanup deleted them), the limits the failure-modes
// guide promises: the Job's own deadline is the operation's timeout plus the pod's grace
// period plus the stop margin, so the provider's graceful stop comes first; the grace
// period is the one pod_template sets; an abandoned Job is collected by Kubernetes a day
// after it finished; and the destroy runs the image create ran, pinned to its digest
// when the kubelet reported one.
func TestAccRun_JobLimits(t *testing.T) {
	e := newAccEnv(t)
	const grace = 7
	config := func(v int) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "containerdriver_run" "test" {
  %s
  inputs   = { v = %d }
  timeouts = { create = "3m", update = "4m", delete = "5m" }
}
`, e.jobBlock(fmt.Sprintf("pod_template = %q", fmt.Sprintf("spec:\n  terminationGracePeriodSeconds: %d\n", grace))), v)
	}
	var digest string
	limits := func(action string, timeout int64) error {
		jobs := e.seen.JobSpecs(map[string]string{contract.LabelAction: action})
		if len(jobs) == 0 {
			return fmt.Errorf("no %s Job was recorded", action)
		}
		j := jobs[len(jobs)-1]
		if g := j.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != grace {
			return fmt.Errorf("%s Job %s: grace period %v, want the pod_template's %d", action, j.Name, g, grace)
		}
		// time.Until(deadline) when the Job was built: at most the timeout, and not far
		// below it (the Job is built at the start of the operation).
		most := timeout + grace + int64(cd.StopMargin.Seconds())
		if d := j.Spec.ActiveDeadlineSeconds; d == nil || *d > most || *d < most-60 {
			return fmt.Errorf("%s Job %s: activeDeadlineSeconds %v, want the timeout (%ds) + grace (%ds) + margin (%v), less the time spent before the Job", action, j.Name, d, timeout, grace, cd.StopMargin)
		}
		if ttl := j.Spec.TTLSecondsAfterFinished; ttl == nil || *ttl != cd.FinishedJobTTL {
			return fmt.Errorf("%s Job %s: ttlSecondsAfterFinished %v, want %d", action, j.Name, ttl, cd.FinishedJobTTL)
		}
		return nil
	}
	runnerImage := func(action string) (string, error) {
		jobs := e.seen.JobSpecs(map[string]string{contract.LabelAction: action})
		if len(jobs) == 0 {
			return "", fmt.Errorf("no %s Job was recorded", action)
		}
		for _, c := range jobs[len(jobs)-1].Spec.Template.Spec.Containers {
			if c.Name == contract.ContainerRunner {
				return c.Image, nil
			}
		}
		return "", fmt.Errorf("the %s Job has no runner container", action)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testProviders,
		CheckDestroy: func(*terraform.State) error {
			if err := limits(contract.ActionDestroy, 5*60); err != nil {
				return err
			}
			img, err := runnerImage(contract.ActionDestroy)
			if err != nil {
				return err
			}
			want := e.runner
			if pinned, ok := cd.PinnedImage(e.runner, digest); ok {
				want = pinned
			}
			if img != want {
				return fmt.Errorf("the destroy ran image %q, want %q (create's image, image_digest %q)", img, want, digest)
			}
			e.noJobsLeft(t)
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: config(1),
				Check: func(s *terraform.State) error {
					digest = s.RootModule().Resources["containerdriver_run.test"].Primary.Attributes["image_digest"]
					if !strings.Contains(digest, "sha256:") {
						return fmt.Errorf("image_digest %q holds no digest", digest)
					}
					return limits(contract.ActionCreate, 3*60)
				},
			},
			{
				// An update runs the create action under the update timeout.
				Config: config(2),
				Check:  func(*terraform.State) error { return limits(contract.ActionCreate, 4*60) },
			},
		},
	})
}
