package containerdriver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Write-only secrets are given to create and update but never stored in the Terraform
// state. Destroy still needs them, so they are kept in a Secret of the run's namespace,
// next to the run's other Secrets (and as readable), until a destroy succeeds.

// WriteOnlySecrets are the write-only secret inputs of a run.
type WriteOnlySecrets struct {
	SecretVariables map[string]string `json:"secret_variables,omitempty"`
	SecretFiles     map[string]string `json:"secret_files,omitempty"`
	// SourcePassword and SourceSSHKey are source.password_wo and source.ssh_key_wo.
	SourcePassword string `json:"source_password,omitempty"`
	SourceSSHKey   string `json:"source_ssh_key,omitempty"`
	// CredentialsJSON is credentials_json_wo, the credentials object as JSON.
	CredentialsJSON string `json:"credentials_json,omitempty"`
	// TargetContent is target.content_wo.
	TargetContent string `json:"target_content,omitempty"`
}

// ParseCredentialsJSON reads a credentials object from its JSON text, keeping numbers as
// written (json.Number).
func ParseCredentialsJSON(s string) (map[string]any, error) {
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("a credentials string must hold a JSON object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("a credentials string must hold a JSON object, not null")
	}
	return obj, nil
}

// roleWriteOnly labels the Secret that keeps a run's write-only secrets.
const roleWriteOnly = "write-only-secrets"

const writeOnlyKey = "write-only.json"

// WriteOnlySecretName is the Secret that keeps the write-only secrets of a run.
func WriteOnlySecretName(runID string) string {
	return "cd-" + contract.ShortHash(runID, 10) + "-" + roleWriteOnly
}

// prepareWriteOnly keeps spec.WriteOnly for later runs (create) or, when spec asks for
// it, merges the kept ones into spec (destroy). Both values are already merged into the
// spec's secret variables and files at create; here they are only saved.
func (e *Executor) prepareWriteOnly(ctx context.Context, spec *RunSpec) error {
	ns := spec.Namespace()
	name := WriteOnlySecretName(spec.RunID)
	secrets := e.Client.CoreV1().Secrets(ns)
	if spec.WriteOnly != nil {
		b, err := json.Marshal(spec.WriteOnly)
		if err != nil {
			return fmt.Errorf("write-only secrets: %w", err)
		}
		s := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{
				contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: runLabel(spec.RunID), contract.LabelRole: roleWriteOnly,
			}},
			Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{writeOnlyKey: b},
		}
		if err := createOrReplace(ctx, secrets, s); err != nil {
			return fmt.Errorf("keep the write-only secrets in secret %s/%s: %w", ns, name, err)
		}
		return nil
	}
	if !spec.WriteOnlyFromCluster {
		return nil
	}
	kept, err := e.KeptWriteOnly(ctx, spec)
	if err != nil {
		return fmt.Errorf("%w (destroy needs them)", err)
	}
	if kept == nil {
		// secrets_wo_version without write-only secrets, or a create that failed before it
		// kept them: the runner gets the rest.
		e.event("no write-only secrets are kept for run %s in %s/%s; destroying without them", spec.RunID, ns, name)
		return nil
	}
	if len(kept.SecretVariables) > 0 {
		m := maps.Clone(spec.Job.SecretVariables)
		if m == nil {
			m = map[string]string{}
		}
		maps.Copy(m, kept.SecretVariables)
		spec.Job.SecretVariables = m
	}
	if len(kept.SecretFiles) > 0 {
		m := maps.Clone(spec.SecretFiles)
		if m == nil {
			m = map[string]string{}
		}
		maps.Copy(m, kept.SecretFiles)
		spec.SecretFiles = m
	}
	return mergeKeptSingles(spec, kept, ns, name)
}

// mergeKeptSingles puts the kept source credentials, credentials and target content into
// spec, a copy of each object it changes.
func mergeKeptSingles(spec *RunSpec, kept *WriteOnlySecrets, ns, name string) error {
	if s := spec.Source; s != nil && (kept.SourcePassword != "" || kept.SourceSSHKey != "") {
		c := *s
		if kept.SourcePassword != "" {
			c.Password = kept.SourcePassword
		}
		if kept.SourceSSHKey != "" {
			c.SSHKey = kept.SourceSSHKey
		}
		spec.Source = &c
	}
	if t := spec.Target; t != nil && kept.TargetContent != "" {
		c := *t
		c.Content = kept.TargetContent
		spec.Target = &c
	}
	if kept.CredentialsJSON != "" {
		creds, err := ParseCredentialsJSON(kept.CredentialsJSON)
		if err != nil {
			return fmt.Errorf("read the credentials kept in secret %s/%s: %w", ns, name, err)
		}
		spec.Credentials = creds
	}
	return nil
}

// forgetWriteOnly deletes the kept write-only secrets: the run is destroyed.
func (e *Executor) forgetWriteOnly(ctx context.Context, spec *RunSpec) error {
	err := e.Client.CoreV1().Secrets(spec.Namespace()).Delete(ctx, WriteOnlySecretName(spec.RunID), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the write-only secrets of run %s: %w", spec.RunID, err)
	}
	return nil
}

// ForgetWriteOnly deletes the write-only secrets kept for spec's run. It is for a create
// that failed before its runner started: nothing records that run, so nothing would ever
// destroy it and delete them.
func (e *Executor) ForgetWriteOnly(ctx context.Context, spec *RunSpec) error {
	return e.forgetWriteOnly(ctx, spec)
}
