// Package staterestore is the state-restore init container: before the runner starts, it
// writes the state the previous run of the same resource saved into STATE_PATH.
// (outputs-fetcher saves it again when the runner has ended.)
package staterestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/apiretry"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/startup"
)

// Main runs state-restore with the process's environment and exits. Unlike the other
// init containers it does not trap SIGTERM (startup.Main would): a pod being deleted ends it
// at once, without a misleading "cannot read the state" in ERROR_FILE.
func Main() {
	if startup.Version(contract.ContainerStateRestore) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := configFromEnv(os.Getenv)
	if err == nil {
		var client kube.Client
		if client, err = startup.Client(contract.ContainerStateRestore, 30*time.Second); err == nil {
			err = run(ctx, cfg, client)
		}
	}
	if err != nil {
		cancel()
		startup.Fail(contract.ContainerStateRestore, err, cfg.ErrorFile)
	}
}

// config is what state-restore needs to know, from its environment.
type config struct {
	StatePath, RunID, Namespace string
	// ErrorFile is where a failure is also reported; RestoredFile is the marker
	// outputs-fetcher waits for before it saves the directory again. Both are empty when
	// the run has no shared directory.
	ErrorFile, RestoredFile string
	// Plan is set in plan Jobs and in creates handed a plan artifact (plan.go).
	Plan *planConfig
}

func configFromEnv(getenv func(string) string) (config, error) {
	file := contract.Env(getenv).File
	cfg := config{
		StatePath:    getenv(contract.EnvStatePath),
		RunID:        getenv(contract.EnvRunID),
		Namespace:    getenv(contract.EnvPodNamespace),
		ErrorFile:    file(contract.EnvErrorFile, contract.ErrorFile),
		RestoredFile: file("", contract.StateRestoredFile),
		Plan:         planConfigFromEnv(getenv),
	}
	if cfg.Plan != nil && cfg.StatePath == "" {
		return cfg, nil // only the plan artifact directory to prepare
	}
	if cfg.StatePath == "" || cfg.RunID == "" || cfg.Namespace == "" {
		return cfg, fmt.Errorf("%s, %s and %s must be set", contract.EnvStatePath, contract.EnvRunID, contract.EnvPodNamespace)
	}
	return cfg, nil
}

// run restores the state.
func run(ctx context.Context, cfg config, client kube.Client) error {
	logger := log.New(os.Stdout, contract.ContainerStateRestore+": ", 0)
	if cfg.Plan != nil {
		if err := preparePlanArtifact(cfg.Plan, logger); err != nil { // plan.go
			return err
		}
		if cfg.StatePath == "" {
			return nil
		}
	}
	// A marker already there was not written by this restore (a source repository can hold
	// one, and git-init runs first): outputs-fetcher must not take it for this one's.
	if cfg.RestoredFile != "" {
		if err := os.Remove(cfg.RestoredFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s, which was there before the state was restored: %w", cfg.RestoredFile, err)
		}
	}
	store := &statedir.Store{Secrets: client.Secrets(cfg.Namespace), Namespace: cfg.Namespace, RunID: cfg.RunID}
	// Only the reading is retried: a saved state that is corrupt, or an archive that does not
	// extract, fails the same way every time.
	var data []byte
	err := apiretry.Do(ctx, apiretry.FirstPause, apiretry.MaxPause, func(attempt int, err error) {
		logger.Printf("reading the state failed (attempt %d), retrying: %v", attempt, err)
	}, func(ctx context.Context) error {
		var err error
		data, err = store.Load(ctx)
		if errors.Is(err, statedir.ErrCorrupt) {
			return apiretry.Permanent(err)
		}
		return err
	})
	switch {
	case errors.Is(err, statedir.ErrCorrupt):
		return fmt.Errorf("restore the state of run %s: %w; the saved state is kept as it is: repair or delete its Secrets (label %s) before the next run", cfg.RunID, err, contract.LabelStateOf)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("restore the state of run %s: %w (the service account needs get and list on secrets)", cfg.RunID, err)
	case err != nil:
		return fmt.Errorf("restore the state of run %s: %w", cfg.RunID, err)
	}
	n := int64(len(data))
	if data != nil {
		if err := statedir.Extract(data, cfg.StatePath); err != nil {
			return fmt.Errorf("restore the state of run %s into %s: %w", cfg.RunID, cfg.StatePath, err)
		}
	}
	// Only now may outputs-fetcher save the directory: it holds the whole saved state.
	if cfg.RestoredFile != "" {
		if err := os.WriteFile(cfg.RestoredFile, []byte(fmt.Sprintf("%d\n", n)), 0o644); err != nil {
			return fmt.Errorf("mark the state as restored: %w", err)
		}
	}
	if n == 0 {
		logger.Printf("no state saved yet for this run; %s starts empty", cfg.StatePath)
	} else {
		logger.Printf("restored %d bytes of state into %s", n, cfg.StatePath)
	}
	return nil
}
