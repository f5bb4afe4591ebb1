package testcluster

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// GitServer serves the repositories under root with `git http-backend` on the node's
// address (pods cannot reach the host's loopback) until the test ends, and returns the
// URL base: a repository root/NAME.git is at URL/NAME.git.
func GitServer(t testing.TB, root string) string {
	t.Helper()
	return serveGit(t, root, nil, func(http.ResponseWriter, *http.Request) bool { return true })
}

// GitServerWithPassword is GitServer for clients that authenticate with HTTP basic auth
// as user with password, and only for them.
func GitServerWithPassword(t testing.TB, root, user, password string) string {
	t.Helper()
	return serveGit(t, root, nil, basicAuth(user, password))
}

// basicAuth lets through the requests that authenticate as user with password.
func basicAuth(user, password string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); ok && u == user && p == password {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return false
	}
}

// serveGit serves root's repositories to the requests allow lets through, over TLS
// when tlsConfig is set.
func serveGit(t testing.TB, root string, tlsConfig *tls.Config, allow func(http.ResponseWriter, *http.Request) bool) string {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(NodeIP(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow(w, r) {
			backend.ServeHTTP(w, r)
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if tlsConfig != nil {
		ln, scheme = tls.NewListener(ln, tlsConfig), "https"
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return scheme + "://" + ln.Addr().String()
}

// GitRepo creates a bare repository NAME.git under root, and returns a function that
// commits files (path to content) on its branch main and pushes them, returning the
// new commit.
func GitRepo(t testing.TB, root, name string) func(files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	bare := filepath.Join(root, name+".git")
	git := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+work)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git(root, "init", "--bare", "--initial-branch=main", bare)
	git(work, "init", "--initial-branch=main")
	git(work, "remote", "add", "origin", bare)
	return func(files map[string]string) string {
		for p, c := range files {
			full := filepath.Join(work, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		git(work, "add", "-A")
		git(work, "commit", "-q", "-m", "change")
		git(work, "push", "-q", "origin", "main")
		return git(work, "rev-parse", "HEAD")
	}
}
