package testcluster

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// GitServer needs the cluster's node address; the parts that do not are tested here.

func TestBasicAuth(t *testing.T) {
	allow := basicAuth("user", "pw-123456")
	for _, tc := range []struct {
		name     string
		user, pw string
		set      bool
		want     bool
	}{
		{name: "right", user: "user", pw: "pw-123456", set: true, want: true},
		{name: "wrong password", user: "user", pw: "nope", set: true},
		{name: "wrong user", user: "other", pw: "pw-123456", set: true},
		{name: "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/r.git/info/refs", nil)
			if tc.set {
				r.SetBasicAuth(tc.user, tc.pw)
			}
			w := httptest.NewRecorder()
			if got := allow(w, r); got != tc.want {
				t.Fatalf("allowed %v, want %v", got, tc.want)
			}
			if !tc.want && (w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "") {
				t.Errorf("refusal %d %v: want 401 with a challenge", w.Code, w.Header())
			}
		})
	}
}

func TestGitRepo_CommitsAndPushes(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	commit := GitRepo(t, root, "r")
	first := commit(map[string]string{"a.txt": "1", "dir/b.txt": "2"})
	second := commit(map[string]string{"a.txt": "changed"})
	if len(first) != 40 || len(second) != 40 || first == second {
		t.Fatalf("commits %q, %q", first, second)
	}
	out, err := exec.Command("git", "--git-dir", filepath.Join(root, "r.git"), "rev-parse", "main").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out[:40]); got != second {
		t.Errorf("main of the bare repository is %s, want the last commit %s", got, second)
	}
	show, err := exec.Command("git", "--git-dir", filepath.Join(root, "r.git"), "show", "main:dir/b.txt").Output()
	if err != nil || string(show) != "2" {
		t.Errorf("dir/b.txt on main: %q, %v", show, err)
	}
	if _, err := os.Stat(filepath.Join(root, "r.git", "HEAD")); err != nil {
		t.Errorf("no bare repository: %v", err)
	}
}
