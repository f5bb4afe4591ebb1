// Package prechecks is the pre-checks init container of a run's pod. It verifies that the
// pod's service account may create the ConfigMaps and Secrets outputs-fetcher stores the
// outputs in, so a missing permission fails the run before the runner changes anything
// rather than losing its outputs afterwards.
package prechecks

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

// Main runs pre-checks with the process's environment and exits.
func Main() {
	if buildinfo.PrintVersion("pre-checks", os.Args, os.Stdout) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := configFromEnv(os.Getenv)
	client, err := kube.InCluster(buildinfo.UserAgent("containerdriver-pre-checks"), requestTimeout)
	if err == nil {
		err = run(ctx, cfg, client, os.Stderr)
	} else {
		report(cfg, err)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pre-checks: "+err.Error())
		stop()
		os.Exit(1)
	}
}
