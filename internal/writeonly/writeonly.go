// Package writeonly is the lifecycle of a run's write-only secrets (secret_variables_wo,
// secret_files_wo, source.password_wo, source.ssh_key_wo, credentials_json_wo and
// target.content_wo). They are given to create and update but never stored in the
// Terraform state. Destroy still needs them, so they are kept in one Secret of the run's
// namespace, next to the run's other Secrets (and as readable), until a destroy succeeds:
//
//   - a create keeps them (Store.Keep), and an update with new values replaces them (a
//     rotation), so that destroy gets the values of the last successful run;
//   - an update that fails puts back what was kept before it (Store.Kept, then
//     Store.Restore), since the state keeps the last successful run;
//   - a destroy, or a plan of one, merges the kept values into its run (Store.MergeKept);
//   - a successful destroy, a forced cleanup, or a create that nothing records deletes
//     them (Store.Forget).
//
// The executor (internal/containerdriver) keeps, merges and forgets them as a run goes;
// the provider restores them after a failed update and forgets those of a run it does not
// record.
package writeonly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// Secrets are the write-only secret inputs of a run.
type Secrets struct {
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

// Empty reports whether s holds no value at all.
func (s *Secrets) Empty() bool {
	return len(s.SecretVariables)+len(s.SecretFiles) == 0 && s.SourcePassword == "" && s.SourceSSHKey == "" &&
		s.CredentialsJSON == "" && s.TargetContent == ""
}

// ParseCredentialsJSON reads a credentials object from its JSON text, keeping numbers as
// written (json.Number).
func ParseCredentialsJSON(s string) (map[string]any, error) {
	var obj map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		// A syntax error's text quotes the character the parser stopped at: a character
		// of the credentials. Its offset says as much to the user and nothing of the value.
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("a credentials string must hold a JSON object: invalid JSON at byte %d", syntax.Offset)
		}
		return nil, fmt.Errorf("a credentials string must hold a JSON object: %w", err)
	}
	if obj == nil {
		return nil, errors.New("a credentials string must hold a JSON object, not null")
	}
	// Decode reads one value: text after it (a second object, a stray word) would
	// otherwise be dropped without a word.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("a credentials string must hold one JSON object and nothing after it (found more at byte %d)", dec.InputOffset())
	}
	return obj, nil
}

// Role labels the Secret that keeps a run's write-only secrets (contract.LabelRole).
const Role = "write-only-secrets"

// key is the key of the Secret's data that holds the secrets as JSON.
const key = "write-only.json"

// SecretName is the Secret that keeps the write-only secrets of a run.
func SecretName(runID string) string {
	return "cd-" + contract.ShortHash(runID, 10) + "-" + Role
}

// SecretsClient is the part of a client of one namespace's Secrets the store calls;
// client-go's typed SecretInterface satisfies it.
type SecretsClient interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Secret, error)
	Create(ctx context.Context, secret *corev1.Secret, opts metav1.CreateOptions) (*corev1.Secret, error)
	Update(ctx context.Context, secret *corev1.Secret, opts metav1.UpdateOptions) (*corev1.Secret, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// Store keeps the write-only secrets of one run in its namespace.
type Store struct {
	// Secrets is a client of Namespace's Secrets.
	Secrets   SecretsClient
	Namespace string
	RunID     string
}

func (s *Store) name() string { return SecretName(s.RunID) }

// Keep keeps secrets for the run's destroy, replacing what was kept before (an update
// rotates them).
func (s *Store) Keep(ctx context.Context, secrets *Secrets) error {
	b, err := json.Marshal(secrets)
	if err != nil {
		return fmt.Errorf("write-only secrets: %w", err)
	}
	obj := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: s.name(), Namespace: s.Namespace, Labels: map[string]string{
			contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: contract.RunLabel(s.RunID), contract.LabelRole: Role,
		}},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{key: b},
	}
	_, err = s.Secrets.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = s.Secrets.Update(ctx, obj, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("keep the write-only secrets in secret %s/%s: %w", s.Namespace, s.name(), err)
	}
	return nil
}

// Kept returns the write-only secrets kept for the run, nil when none are.
func (s *Store) Kept(ctx context.Context) (*Secrets, error) {
	obj, err := s.Secrets.Get(ctx, s.name(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the write-only secrets kept in secret %s/%s: %w", s.Namespace, s.name(), err)
	}
	var kept Secrets
	if err := json.Unmarshal(obj.Data[key], &kept); err != nil {
		return nil, fmt.Errorf("read the write-only secrets kept in secret %s/%s: %w", s.Namespace, s.name(), err)
	}
	return &kept, nil
}

// Restore keeps kept (from Kept) again, as before a run that failed replaced them: a
// failed update leaves the run's prior state, and its destroy must get the values of the
// last successful run. nil (none were kept) deletes what the failed run kept.
func (s *Store) Restore(ctx context.Context, kept *Secrets) error {
	if kept == nil {
		return s.Forget(ctx)
	}
	return s.Keep(ctx, kept)
}

// Forget deletes the kept write-only secrets: the run is destroyed, or nothing records it.
func (s *Store) Forget(ctx context.Context) error {
	err := s.Secrets.Delete(ctx, s.name(), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the write-only secrets of run %s: %w", s.RunID, err)
	}
	return nil
}

// Fields are the places of a destroy's run that take the kept values back. A nil
// pointer is a place the run does not have (no source, no target): its kept values are
// dropped.
type Fields struct {
	SecretVariables *map[string]string
	SecretFiles     *map[string]string
	SourcePassword  *string
	SourceSSHKey    *string
	TargetContent   *string
	Credentials     *map[string]any
}

// MergeKept merges the write-only secrets kept for the run into f, for its destroy (or
// a plan of it): kept variables and files are added to a copy of f's maps; the kept
// source credentials, target content and credentials replace f's. found is false when
// none are kept (secrets_wo_version without write-only secrets, or a create that failed
// before it kept them): the runner gets the rest.
func (s *Store) MergeKept(ctx context.Context, f Fields) (found bool, err error) {
	kept, err := s.Kept(ctx)
	if err != nil {
		return false, fmt.Errorf("%w (destroy needs them)", err)
	}
	if kept == nil {
		return false, nil
	}
	mergeMap := func(into *map[string]string, from map[string]string) {
		if into == nil || len(from) == 0 {
			return
		}
		m := maps.Clone(*into)
		if m == nil {
			m = map[string]string{}
		}
		maps.Copy(m, from)
		*into = m
	}
	mergeMap(f.SecretVariables, kept.SecretVariables)
	mergeMap(f.SecretFiles, kept.SecretFiles)
	set := func(into *string, v string) {
		if into != nil && v != "" {
			*into = v
		}
	}
	set(f.SourcePassword, kept.SourcePassword)
	set(f.SourceSSHKey, kept.SourceSSHKey)
	set(f.TargetContent, kept.TargetContent)
	if kept.CredentialsJSON != "" && f.Credentials != nil {
		creds, err := ParseCredentialsJSON(kept.CredentialsJSON)
		if err != nil {
			return true, fmt.Errorf("read the credentials kept in secret %s/%s: %w", s.Namespace, s.name(), err)
		}
		*f.Credentials = creds
	}
	return true, nil
}
