// Package staterestore is the state-restore init container: before the runner starts, it
// writes the state the previous run of the same resource saved into STATE_PATH.
// (outputs-fetcher saves it again when the runner has ended.)
package staterestore

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/apiretry"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

// Main runs state-restore with the process's environment and exits.
func Main() {
	if buildinfo.PrintVersion("state-keeper", os.Args, os.Stdout) {
		return
	}
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
		if client, err = kube.InCluster(buildinfo.UserAgent("containerdriver-state-restore"), 30*time.Second); err != nil {
			return err
		}
	}
	var n int64
	store := &statedir.Store{Secrets: client.Secrets(ns), Namespace: ns, RunID: runID}
	err := apiretry.Do(ctx, 250*time.Millisecond, 2*time.Second, func(attempt int, err error) {
		fmt.Printf("state-restore: reading the state failed (attempt %d), retrying: %v\n", attempt, err)
	}, func(ctx context.Context) error {
		var err error
		n, err = store.RestoreDir(ctx, dir)
		return err
	})
	if err != nil {
		return fmt.Errorf("restore the state of run %s: %w (the service account needs get and list on secrets)", runID, err)
	}
	// Only now may outputs-fetcher save the directory: it holds the whole saved state.
	if shared := getenv(contract.EnvScriptsDirectory); shared != "" {
		if err := os.WriteFile(contract.StateRestoredFile(shared), []byte(fmt.Sprintf("%d\n", n)), 0o644); err != nil {
			return fmt.Errorf("mark the state as restored: %w", err)
		}
	}
	if n == 0 {
		fmt.Printf("state-restore: no state saved yet for this run; %s starts empty\n", dir)
	} else {
		fmt.Printf("state-restore: restored %d bytes of state into %s\n", n, dir)
	}
	return nil
}
