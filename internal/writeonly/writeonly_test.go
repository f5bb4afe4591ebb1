package writeonly

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func newStore() (*Store, *fake.Clientset) {
	c := fake.NewClientset()
	return &Store{Secrets: c.CoreV1().Secrets("ns"), Namespace: "ns", RunID: "run-1"}, c
}

// The lifecycle, step by step: what a create keeps, an update rotates, a failed update
// puts back and a destroy deletes, read back as the next destroy would find it.
func TestStore_Lifecycle(t *testing.T) {
	v1 := &Secrets{SecretVariables: map[string]string{"WO": "wo-value-1"}, SecretFiles: map[string]string{"f.txt": "wo-file-1"}}
	v2 := &Secrets{SecretVariables: map[string]string{"WO": "wo-value-2"}, SourcePassword: "wo-git-password"}
	keep := func(s *Secrets) func(context.Context, *Store) error {
		return func(ctx context.Context, st *Store) error { return st.Keep(ctx, s) }
	}
	forget := func(ctx context.Context, st *Store) error { return st.Forget(ctx) }
	// update keeps s the way the provider's Update does: it reads what is kept first, and
	// puts it back when the run fails.
	update := func(s *Secrets, fails bool) func(context.Context, *Store) error {
		return func(ctx context.Context, st *Store) error {
			before, err := st.Kept(ctx)
			if err != nil {
				return err
			}
			if err := st.Keep(ctx, s); err != nil {
				return err
			}
			if fails {
				return st.Restore(ctx, before)
			}
			return nil
		}
	}
	for _, c := range []struct {
		name  string
		steps []func(context.Context, *Store) error
		want  *Secrets
	}{
		{name: "nothing kept before any run"},
		{name: "a create keeps its values", steps: []func(context.Context, *Store) error{keep(v1)}, want: v1},
		{name: "an update rotates them", steps: []func(context.Context, *Store) error{keep(v1), update(v2, false)}, want: v2},
		{name: "a failed update puts back those of the last success", steps: []func(context.Context, *Store) error{keep(v1), update(v2, true)}, want: v1},
		{name: "a failed update of a run that kept none removes its own", steps: []func(context.Context, *Store) error{update(v2, true)}},
		{name: "a destroy deletes them", steps: []func(context.Context, *Store) error{keep(v1), forget}},
		{name: "deleting what is gone is no error", steps: []func(context.Context, *Store) error{keep(v1), forget, forget}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st, client := newStore()
			for i, step := range c.steps {
				if err := step(ctx, st); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			got, err := st.Kept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("kept (-want +got):\n%s", d)
			}
			l, err := client.CoreV1().Secrets("ns").List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if len(l.Items) != 0 {
					t.Errorf("%d Secrets left, want none", len(l.Items))
				}
				return
			}
			if len(l.Items) != 1 {
				t.Fatalf("%d Secrets, want one", len(l.Items))
			}
			s := l.Items[0]
			wantLabels := map[string]string{
				"app.kubernetes.io/managed-by": "containerdriver", "containerdriver.io/run-id": "run-1", "containerdriver.io/role": "write-only-secrets",
			}
			if s.Name != SecretName("run-1") || !cmp.Equal(wantLabels, s.Labels) || s.Type != corev1.SecretTypeOpaque {
				t.Errorf("kept in %s, labels %v, type %s", s.Name, s.Labels, s.Type)
			}
		})
	}
}

// What a destroy gets back: kept variables and files join its own (a copy: the caller's
// maps stay), the single values replace its own, and a place the run does not have drops
// its kept value.
func TestStore_MergeKept(t *testing.T) {
	str := func(s string) *string { return &s }
	type places struct {
		Vars, Files               map[string]string
		Password, SSHKey, Content *string
		Credentials               map[string]any
	}
	for _, c := range []struct {
		name    string
		kept    *Secrets
		in      places
		want    places
		found   bool
		wantErr string
	}{
		{name: "none kept", in: places{Vars: map[string]string{"A": "a"}}, want: places{Vars: map[string]string{"A": "a"}}},
		{
			name:  "variables and files join the destroy's own",
			kept:  &Secrets{SecretVariables: map[string]string{"WO": "wo-1"}, SecretFiles: map[string]string{"f.txt": "wo-file"}},
			in:    places{Vars: map[string]string{"OTHER": "other"}},
			want:  places{Vars: map[string]string{"OTHER": "other", "WO": "wo-1"}, Files: map[string]string{"f.txt": "wo-file"}},
			found: true,
		},
		{
			name:  "source credentials and target content replace the state's",
			kept:  &Secrets{SourcePassword: "wo-git-password", TargetContent: "wo-target"},
			in:    places{Password: str(""), SSHKey: str(""), Content: str("")},
			want:  places{Password: str("wo-git-password"), SSHKey: str(""), Content: str("wo-target")},
			found: true,
		},
		{
			name:  "an ssh key leaves the password alone",
			kept:  &Secrets{SourceSSHKey: "-----BEGIN KEY-----\nwo\n-----END KEY-----\n"},
			in:    places{Password: str(""), SSHKey: str("")},
			want:  places{Password: str(""), SSHKey: str("-----BEGIN KEY-----\nwo\n-----END KEY-----\n")},
			found: true,
		},
		{
			name:  "a run without source or target drops those values",
			kept:  &Secrets{SourcePassword: "wo-git-password", TargetContent: "wo-target"},
			found: true,
		},
		{
			name:  "credentials keep their numbers as written",
			kept:  &Secrets{CredentialsJSON: `{"a":{"b":"wo-cred","n":1234567}}`},
			want:  places{Credentials: map[string]any{"a": map[string]any{"b": "wo-cred", "n": json.Number("1234567")}}},
			found: true,
		},
		{
			name:    "kept credentials that are no object",
			kept:    &Secrets{CredentialsJSON: `[1]`},
			found:   true,
			wantErr: "read the credentials kept in secret ns/" + SecretName("run-1") + ": a credentials string must hold a JSON object",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := newStore()
			if c.kept != nil {
				if err := st.Keep(ctx, c.kept); err != nil {
					t.Fatal(err)
				}
			}
			got := c.in
			callerVars := maps.Clone(c.in.Vars)
			found, err := st.MergeKept(ctx, Fields{
				SecretVariables: &got.Vars, SecretFiles: &got.Files, SourcePassword: got.Password, SourceSSHKey: got.SSHKey,
				TargetContent: got.Content, Credentials: &got.Credentials,
			})
			if found != c.found {
				t.Errorf("found %v, want %v", found, c.found)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("merged (-want +got):\n%s", d)
			}
			if d := cmp.Diff(callerVars, c.in.Vars); d != "" {
				t.Errorf("the caller's variables changed (-before +after):\n%s", d)
			}
		})
	}
}

// A kept Secret that does not hold what Keep writes is an error naming it; a destroy
// says it needs them.
func TestStore_CorruptSecret(t *testing.T) {
	ctx := context.Background()
	st, client := newStore()
	if _, err := client.CoreV1().Secrets("ns").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName("run-1"), Namespace: "ns"},
		Data:       map[string][]byte{"write-only.json": []byte("{not json")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "read the write-only secrets kept in secret ns/" + SecretName("run-1")
	if _, err := st.Kept(ctx); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Kept: %v, want %q", err, want)
	}
	if _, err := st.MergeKept(ctx, Fields{}); err == nil || !strings.Contains(err.Error(), want) || !strings.HasSuffix(err.Error(), "(destroy needs them)") {
		t.Errorf("MergeKept: %v", err)
	}
}

func TestParseCredentialsJSON(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    map[string]any
		wantErr string
	}{
		{in: `{"a":"b","n":1.50}`, want: map[string]any{"a": "b", "n": json.Number("1.50")}},
		{in: `[1, 2]`, wantErr: "a credentials string must hold a JSON object: "},
		{in: `null`, wantErr: "a credentials string must hold a JSON object, not null"},
		{in: `{`, wantErr: "a credentials string must hold a JSON object: "},
		// Text after the object is not JSON: decoding only the first value hid it.
		{in: `{"a":"b"}Zq`, wantErr: "a credentials string must hold one JSON object and nothing after it"},
		{in: `{"a":"b"} {"c":"d"}`, wantErr: "a credentials string must hold one JSON object and nothing after it"},
		{in: " {\"a\":\"b\"}\n\t ", want: map[string]any{"a": "b"}},
		// The error never quotes the value: not even the character the parser stopped at.
		{in: `{"a":Zq}`, wantErr: "a credentials string must hold a JSON object: invalid JSON at byte 6"},
	} {
		got, err := ParseCredentialsJSON(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.in, err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "Z") {
				t.Errorf("%s: error %q quotes the value", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.in, d)
		}
	}
}

func TestSecrets_Empty(t *testing.T) {
	for _, c := range []struct {
		s    Secrets
		want bool
	}{
		{Secrets{}, true},
		{Secrets{SecretVariables: map[string]string{}}, true},
		{Secrets{SecretVariables: map[string]string{"A": "a"}}, false},
		{Secrets{SecretFiles: map[string]string{"f": "a"}}, false},
		{Secrets{SourcePassword: "p"}, false},
		{Secrets{SourceSSHKey: "k"}, false},
		{Secrets{CredentialsJSON: "{}"}, false},
		{Secrets{TargetContent: "c"}, false},
	} {
		if got := c.s.Empty(); got != c.want {
			t.Errorf("%+v.Empty() = %v", c.s, got)
		}
	}
}
