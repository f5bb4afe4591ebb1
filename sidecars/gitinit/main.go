// Package gitinit is the git-init init container of a run's pod: it checks out the
// source repository at the requested ref, copies it (or one of its directories) into the
// shared directory, and records the commit it used in GIT_COMMIT_FILE for the runner and
// in its termination message for the executor.
package gitinit

import (
	"context"
	"os"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/startup"
)

// Main runs git-init with the process's environment and exits.
func Main() {
	startup.Main(contract.ContainerGitInit, func(ctx context.Context) error {
		// run writes the (redacted) error to ERROR_FILE itself.
		return run(ctx, configFromEnv(os.Getenv), os.Stderr)
	})
}
