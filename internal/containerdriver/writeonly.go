package containerdriver

import (
	"context"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/writeonly"
)

// When in a run the write-only secrets (internal/writeonly) are kept, merged back and
// forgotten: a create keeps spec.WriteOnly (Run, before its Job), a destroy or a plan of
// one merges the kept ones into spec (Run, before building its Job), and a successful
// destroy or a forced cleanup forgets them.

// WriteOnly is the store of the write-only secrets of spec's run.
func (e *Executor) WriteOnly(spec *RunSpec) *writeonly.Store {
	ns := spec.Namespace()
	return &writeonly.Store{Secrets: e.Client.CoreV1().Secrets(ns), Namespace: ns, RunID: spec.RunID}
}

// prepareWriteOnly keeps spec.WriteOnly for later runs (create) or, when spec asks for
// it, merges the kept ones into spec (destroy). Both values are already merged into the
// spec's secret variables and files at create; here they are only saved.
func (e *Executor) prepareWriteOnly(ctx context.Context, spec *RunSpec) error {
	store := e.WriteOnly(spec)
	if spec.WriteOnly != nil {
		return store.Keep(ctx, spec.WriteOnly)
	}
	if !spec.WriteOnlyFromCluster {
		return nil
	}
	found, err := store.MergeKept(ctx, spec.writeOnlyFields())
	if err != nil {
		return err
	}
	if !found {
		e.event("no write-only secrets are kept for run %s in %s/%s; destroying without them", spec.RunID, store.Namespace, writeonly.SecretName(spec.RunID))
	}
	return nil
}

// writeOnlyFields are the places of spec that take kept write-only values back. The
// source and the target are copied first: the caller's objects stay as they were.
func (spec *RunSpec) writeOnlyFields() writeonly.Fields {
	f := writeonly.Fields{SecretVariables: &spec.Job.SecretVariables, SecretFiles: &spec.SecretFiles, Credentials: &spec.Credentials}
	if spec.Source != nil {
		c := *spec.Source
		spec.Source = &c
		f.SourcePassword, f.SourceSSHKey = &c.Password, &c.SSHKey
	}
	if spec.Target != nil {
		c := *spec.Target
		spec.Target = &c
		f.TargetContent = &c.Content
	}
	return f
}
