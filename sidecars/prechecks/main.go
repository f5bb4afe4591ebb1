// Command prechecks is the pre-checks init container of a run's pod. It verifies that the
// pod's service account may create the ConfigMaps and Secrets outputs-fetcher stores the
// outputs in, so a missing permission fails the run before the runner changes anything
// rather than losing its outputs afterwards.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
)

func main() {
	if buildinfo.PrintVersion("pre-checks", os.Args, os.Stdout) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	cfg := configFromEnv(os.Getenv)
	client, err := inClusterClient()
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

func inClusterClient() (kubernetes.Interface, error) {
	rc, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("load in-cluster configuration: %w", err)
	}
	rc.UserAgent = buildinfo.UserAgent("containerdriver-pre-checks")
	rc.Timeout = requestTimeout
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	return c, nil
}
