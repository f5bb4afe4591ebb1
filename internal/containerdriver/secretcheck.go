package containerdriver

import (
	"bytes"
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Job's name and spec-hash annotation are readable by anyone who may read Jobs, often
// more people than may read Secrets. A digest over the secrets there would let them test
// guesses of a secret offline (any function of public data and the secret can be checked
// against a guess), and no key the provider could use is both stable across a retry and
// unreadable from the cluster. So the digest leaves the secret values out, and a Job found
// under the same name is re-attached to only if the Secrets it reads still hold exactly
// this run's secret values (secretsChanged): comparing there reveals nothing to those who
// cannot read Secrets.

// withoutSecretValues is a copy of spec whose secret values are blanked: which keys, files
// and credentials exist still counts, what they hold does not.
func withoutSecretValues(spec *RunSpec) *RunSpec {
	c := *spec
	c.WriteOnly = nil // merged into the secret variables and files, blanked below
	blank := func(m map[string]string) map[string]string {
		if m == nil {
			return nil
		}
		out := make(map[string]string, len(m))
		for k := range m {
			out[k] = ""
		}
		return out
	}
	c.Job.SecretVariables = blank(spec.Job.SecretVariables)
	c.SecretFiles = blank(spec.SecretFiles)
	if spec.Source != nil {
		src := *spec.Source
		src.Password, src.SSHKey = setMarker(src.Password), setMarker(src.SSHKey)
		c.Source = &src
	}
	if spec.Target != nil {
		t := *spec.Target
		t.Content = setMarker(t.Content)
		c.Target = &t
	}
	if spec.Credentials != nil {
		c.Credentials = blankLeaves(spec.Credentials).(map[string]any)
	}
	return &c
}

// setMarker keeps whether a secret is set (it changes the Job's shape), not its value.
func setMarker(v string) string {
	if v == "" {
		return ""
	}
	return "set"
}

func blankLeaves(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = blankLeaves(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = blankLeaves(x)
		}
		return out
	}
	return nil
}

// secretsChanged reports whether a Job of b's name, found in the cluster, was started with
// other secret values than b's: one of b's Secrets is missing or holds other data. missing
// says it was missing (the first one that differed).
func (e *Executor) secretsChanged(ctx context.Context, b *JobObjects) (changed, missing bool, err error) {
	for _, want := range b.Secrets {
		got, err := e.Client.CoreV1().Secrets(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, true, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("read secret %s/%s of the existing job: %w", want.Namespace, want.Name, err)
		}
		if len(got.Data) != len(want.Data) {
			return true, false, nil
		}
		for k, v := range want.Data {
			if !bytes.Equal(got.Data[k], v) {
				return true, false, nil
			}
		}
	}
	return false, false, nil
}
