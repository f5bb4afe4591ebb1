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
	"fmt"
	"os"
	"os/signal"
	"syscall"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

// Main runs outputs-fetcher with the process's environment and exits.
func Main() {
	if buildinfo.PrintVersion("outputs-fetcher", os.Args, os.Stdout) {
		return
	}
	// Listen first: a SIGTERM that arrived before Notify would kill the process unharvested.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)

	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		fail(err)
	}
	client, err := kube.InCluster(buildinfo.UserAgent("containerdriver-outputs-fetcher"), requestTimeout)
	if err != nil {
		fail(err)
	}
	if err := run(context.Background(), cfg, client, signals, os.Stderr); err != nil {
		fail(err)
	}
}

func fail(err error) {
	msg := "outputs-fetcher: " + err.Error()
	fmt.Fprintln(os.Stderr, msg)
	// Best effort: the kubelet falls back to the log tail when this is not writable.
	_ = os.WriteFile(corev1.TerminationMessagePathDefault, []byte(msg+"\n"), 0o644)
	os.Exit(1)
}
