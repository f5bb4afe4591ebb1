// Package prechecks is the pre-checks init container of a run's pod. It verifies that the
// pod's service account may create the ConfigMaps and Secrets outputs-fetcher stores the
// outputs in, so a missing permission fails the run before the runner changes anything
// rather than losing its outputs afterwards.
package prechecks

import (
	"context"
	"os"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/startup"
)

// Main runs pre-checks with the process's environment and exits.
func Main() {
	startup.Main(contract.ContainerPreChecks, func(ctx context.Context) error {
		cfg := configFromEnv(os.Getenv)
		client, err := startup.Client(contract.ContainerPreChecks, requestTimeout)
		if err != nil {
			report(cfg, err)
			return err
		}
		return run(ctx, cfg, client, os.Stderr) // reports a failure itself
	})
}
