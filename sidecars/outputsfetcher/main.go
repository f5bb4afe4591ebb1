// Package outputsfetcher is the outputs-fetcher native sidecar of a run's pod. It waits
// for SIGTERM, which the kubelet sends once the runner has ended (or an init container
// failed), then stores the runner's outputs, secret outputs and error file as ConfigMaps
// and Secrets for the executor to read, within the termination grace period.
//
// It cannot watch the pod: the Job's service account may only create ConfigMaps and
// Secrets in its namespace.
package outputsfetcher

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/startup"
)

// Main runs outputs-fetcher with the process's environment and exits.
func Main() {
	if startup.Version(contract.ContainerOutputsFetcher) {
		return
	}
	// Listen first: a SIGTERM that arrived before Notify would kill the process unharvested.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		startup.Fail(contract.ContainerOutputsFetcher, err)
	}
	client, err := startup.Client(contract.ContainerOutputsFetcher, requestTimeout)
	if err != nil {
		startup.Fail(contract.ContainerOutputsFetcher, err)
	}
	if err := run(context.Background(), cfg, client, signals, os.Stderr); err != nil {
		startup.Fail(contract.ContainerOutputsFetcher, err)
	}
}
