// Package statekeeper is the state-restore init container: before the runner starts, it
// writes the state the previous run of the same resource saved into STATE_PATH.
// (outputs-fetcher saves it again when the runner has ended.)
package statekeeper

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statestore"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

// Main runs state-restore with the process's environment and exits.
func Main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Getenv, nil); err != nil {
		msg := "state-restore: " + err.Error()
		fmt.Fprintln(os.Stderr, msg)
		if f := os.Getenv(contract.EnvErrorFile); f != "" {
			_ = os.WriteFile(f, []byte(msg+"\n"), 0o644)
		}
		_ = os.WriteFile("/dev/termination-log", []byte(msg), 0o644)
		os.Exit(1)
	}
}

// run restores the state; client is nil outside tests (the in-cluster client is used).
func run(ctx context.Context, getenv func(string) string, client kube.Client) error {
	dir, runID, ns := getenv(contract.EnvStatePath), getenv(contract.EnvRunID), getenv(contract.EnvPodNamespace)
	if dir == "" || runID == "" || ns == "" {
		return fmt.Errorf("%s, %s and %s must be set", contract.EnvStatePath, contract.EnvRunID, contract.EnvPodNamespace)
	}
	if client == nil {
		var err error
		if client, err = kube.InCluster("containerdriver-state-restore", 30*time.Second); err != nil {
			return err
		}
	}
	n, err := (&statestore.Store{Secrets: client.Secrets(ns), Namespace: ns, RunID: runID}).RestoreDir(ctx, dir)
	if err != nil {
		return fmt.Errorf("restore the state of run %s: %w (the service account needs get and list on secrets)", runID, err)
	}
	if n == 0 {
		fmt.Printf("state-restore: no state saved yet for this run; %s starts empty\n", dir)
	} else {
		fmt.Printf("state-restore: restored %d bytes of state into %s\n", n, dir)
	}
	return nil
}
