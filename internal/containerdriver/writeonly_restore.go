package containerdriver

import (
	"context"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// KeptWriteOnly returns the write-only secrets kept for spec's run, nil when none are.
func (e *Executor) KeptWriteOnly(ctx context.Context, spec *RunSpec) (*WriteOnlySecrets, error) {
	ns, name := spec.Namespace(), WriteOnlySecretName(spec.RunID)
	s, err := e.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the write-only secrets kept in secret %s/%s: %w", ns, name, err)
	}
	var kept WriteOnlySecrets
	if err := json.Unmarshal(s.Data[writeOnlyKey], &kept); err != nil {
		return nil, fmt.Errorf("read the write-only secrets kept in secret %s/%s: %w", ns, name, err)
	}
	return &kept, nil
}

// RestoreWriteOnly keeps kept (from KeptWriteOnly) for spec's run again, as before a run
// that failed replaced them: a failed update leaves the run's prior state, and its
// destroy must get the values of the last successful run. nil (none were kept) deletes
// what the failed run kept.
func (e *Executor) RestoreWriteOnly(ctx context.Context, spec *RunSpec, kept *WriteOnlySecrets) error {
	if kept == nil {
		return e.forgetWriteOnly(ctx, spec)
	}
	s := *spec
	s.WriteOnly, s.WriteOnlyFromCluster = kept, false
	return e.prepareWriteOnly(ctx, &s)
}
