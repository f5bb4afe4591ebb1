// Package state keeps a runner's state directory between runs, for the provider's side
// (the executor deletes a destroyed run's state): internal/statestore on a client-go
// clientset. The archive format and the Secrets are statestore's.
package state

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/statestore"
)

// Store keeps one run's state archive in a namespace.
type Store struct {
	Client    kubernetes.Interface
	Namespace string
	// RunID is the identity of the resource whose state this is.
	RunID string
}

func (s *Store) store() *statestore.Store {
	return &statestore.Store{Secrets: s.Client.CoreV1().Secrets(s.Namespace), Namespace: s.Namespace, RunID: s.RunID}
}

// Save stores data as the new state and returns its generation (statestore.Store.Save).
func (s *Store) Save(ctx context.Context, data []byte) (string, error) {
	return s.store().Save(ctx, data)
}

// Load returns the current state archive, or nil when none was saved.
func (s *Store) Load(ctx context.Context) ([]byte, error) { return s.store().Load(ctx) }

// Delete removes the head and every chunk of the run's state.
func (s *Store) Delete(ctx context.Context) error { return s.store().Delete(ctx) }

// SaveDir archives dir and saves it as the new state; it returns the archive's size.
func (s *Store) SaveDir(ctx context.Context, dir string) (int64, error) {
	return s.store().SaveDir(ctx, dir)
}

// RestoreDir writes the saved state, if any, into dir; it returns the archive's size.
func (s *Store) RestoreDir(ctx context.Context, dir string) (int64, error) {
	return s.store().RestoreDir(ctx, dir)
}

// HeadName is the name of the Secret that points at the current state generation.
func HeadName(runID string) string { return statestore.HeadName(runID) }
