package containerdriver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

// sidecarToken is where the sidecars' service account token is mounted (in the sidecars
// only: the runner of these tests has none, and cannot read it itself).
const sidecarToken = contract.APIAccessMountPath + "/token"

// jwtRe finds a JSON Web Token (a service account token) in text.
var jwtRe = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`)

// jwtLifetime is exp - iat of a JWT.
func jwtLifetime(t *testing.T, jwt string) int64 {
	t.Helper()
	parts := strings.Split(jwt, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c struct{ Exp, Iat int64 }
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	return c.Exp - c.Iat
}

// noToken fails the test when a token shows up in text, and reports its lifetime (what a
// leaked token would be worth).
func noToken(t *testing.T, where, text string) {
	t.Helper()
	if tok := jwtRe.FindString(text); tok != "" {
		t.Errorf("%s holds a service account token (exp - iat = %d s)", where, jwtLifetime(t, tok))
	}
}

// keptObjectsText is every value of the namespace's ConfigMaps and Secrets.
func (e *env) keptObjectsText(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	cms, err := e.c.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secrets, err := e.c.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, cm := range cms.Items {
		for _, v := range cm.Data {
			b.WriteString(v + "\n")
		}
	}
	for _, s := range secrets.Items {
		for _, v := range s.Data {
			b.Write(append(v, '\n'))
		}
	}
	return b.String()
}

// A hostile runner replaces its files, once written, by links to what only the sidecars
// can read (their token), hard links, or named pipes. outputs-fetcher refuses each of them
// with an error naming the file, and no token reaches the error, the logs, the events or
// the objects the run leaves.
func TestAccExecutor_HostileRunnerFiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		inputs map[string]any
		state  bool
		reason string
		want   string // in the RunError's text
	}{
		{
			name: "error file linked to the sidecars' token",
			inputs: map[string]any{"fail": "see the error file", "plant": []any{
				map[string]any{"path": "$ERROR_FILE", "kind": "symlink", "target": sidecarToken}}},
			reason: "Error", want: "/workspace/error.txt was refused: it is a symbolic link",
		},
		{
			name: "outputs linked to the token and to /etc/passwd",
			inputs: map[string]any{"plant": []any{
				map[string]any{"path": "$SECRET_OUTPUTS_FILE", "kind": "symlink", "target": sidecarToken},
				map[string]any{"path": "$OUTPUTS_FILE", "kind": "symlink", "target": "/etc/passwd"}}},
			reason: cd.ReasonInvalidOutputs, want: "/workspace/secret-outputs.json was refused: it is a symbolic link",
		},
		{
			name: "outputs a hard link",
			inputs: map[string]any{"outputs": map[string]any{"a": "b"}, "plant": []any{
				map[string]any{"path": "$SCRIPTS_DIRECTORY/copy.json", "kind": "write", "target": `{"a":"b"}`},
				map[string]any{"path": "$OUTPUTS_FILE", "kind": "hardlink", "target": "$SCRIPTS_DIRECTORY/copy.json"}}},
			reason: cd.ReasonInvalidOutputs, want: "/workspace/outputs.json was refused: it is a hard link",
		},
		{
			name: "outputs a named pipe",
			inputs: map[string]any{"plant": []any{
				map[string]any{"path": "$OUTPUTS_FILE", "kind": "fifo"}}},
			reason: cd.ReasonInvalidOutputs, want: "/workspace/outputs.json was refused: it is a named pipe",
		},
		{
			name: "state directory holding a hard link",
			inputs: map[string]any{"count_state": true, "plant": []any{
				map[string]any{"path": "$STATE_PATH/count-too", "kind": "hardlink", "target": "$STATE_PATH/count"}}},
			state: true, reason: cd.ReasonStateNotSaved, want: "/state/count is a hard link",
		},
		{
			name: "state directory linked to the token",
			inputs: map[string]any{"count_state": true, "plant": []any{
				map[string]any{"path": "$STATE_PATH/token", "kind": "symlink", "target": sidecarToken}}},
			state: true, reason: cd.ReasonStateNotSaved, want: "/state/token is a symbolic link",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			spec := e.spec(t, c.inputs)
			if c.state {
				e.grantState(t)
				spec.State = &cd.StateSpec{Path: "/state"}
			}
			// Kept, so that the objects outputs-fetcher stored can be searched.
			spec.KeepResources = true
			_, rec, err := e.run(t, spec, contract.ActionCreate)
			var re *cd.RunError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want the run refused", err)
			}
			text := re.Error() + "\n" + re.Detail()
			// Logged with any token removed: before the fix, the runner could get one here.
			t.Logf("the run's error:\n%s", jwtRe.ReplaceAllString(text, "<token removed>"))
			noToken(t, "the run's error", text)
			noToken(t, "the logs and events", rec.all())
			noToken(t, "the ConfigMaps and Secrets", e.keptObjectsText(t))
			if re.Reason != c.reason || !strings.Contains(text, c.want) {
				t.Errorf("got reason %s, want %s with %q", re.Reason, c.reason, c.want)
			}
			if err := (&cd.Executor{Client: e.c}).ForceCleanup(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			e.assertEmpty(t)
		})
	}
}

// A runner that rewrites the commit file in the shared directory with another commit
// does not choose the commit destroy runs at: git_commit is the one git-init checked out.
func TestAccExecutor_RunnerCannotPinTheCommit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	root := t.TempDir()
	commit := testcluster.GitRepo(t, root, "repo")
	older := commit(map[string]string{"main.tf": "# older\n"})
	newer := commit(map[string]string{"main.tf": "# newer\n"})
	url := testcluster.GitServer(t, root) + "/repo.git"
	spec := e.spec(t, map[string]any{"echo_files": []string{"main.tf", contract.GitCommitFileName}, "plant": []any{
		map[string]any{"path": "$SCRIPTS_DIRECTORY/" + contract.GitCommitFileName, "kind": "write", "target": older + "\n"}}})
	spec.Source = &cd.SourceSpec{URL: url, Ref: "refs/heads/main"}
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	if got := res.Outputs["file_/workspace/"+contract.GitCommitFileName]; got != newer+"\n" {
		t.Errorf("the runner read the commit file as %q, want git-init's %q", got, newer)
	}
	if res.GitCommit != newer {
		t.Fatalf("git_commit = %s, want %s (git-init checked out main's tip); older commit: %s", res.GitCommit, newer, older)
	}
	// Destroy at the recorded commit, as the provider does.
	spec.Source.Ref = res.GitCommit
	res, _, err = e.run(t, spec, contract.ActionDestroy)
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, detail(err))
	}
	if got := res.Outputs["file_/workspace/main.tf"]; got != "# newer\n" {
		t.Errorf("destroy ran with main.tf %q, want the created commit's", got)
	}
	e.assertEmpty(t)
}

// The sidecars' token, and the runner's when it asks for one (the same projected volume),
// lives an hour: not the year the API server gives a token asked for 3607 seconds.
func TestAccExecutor_TokenLivesAnHour(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := e.spec(t, map[string]any{"token_lifetime": true})
	spec.Job.MountServiceAccountToken = true
	res, _, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, detail(err))
	}
	got := fmt.Sprint(res.Outputs["token_lifetime_seconds"])
	t.Logf("token exp - iat = %s s", got)
	var n int64
	if _, err := fmt.Sscan(got, &n); err != nil || n <= 0 || n > 3600 {
		t.Errorf("token lifetime %s s, want at most 3600", got)
	}
	e.assertEmpty(t)
}
