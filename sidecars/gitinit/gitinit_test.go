package gitinit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

const (
	gitUser     = "deployer"
	gitPassword = "pa55-w0rd-never-shown"
)

// fixture is a repository served over HTTP with basic auth by git http-backend.
type fixture struct {
	url string
	// commits by name: c1 <- c2 (tag v1, annotated) <- c3 (main, HEAD, tag light); c1 <- c4 (feature)
	commits map[string]string
}

func gitRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	work := filepath.Join(t.TempDir(), "work")
	gitRun(t, "", "init", "-q", "-b", "main", work)
	f := &fixture{commits: map[string]string{}}

	writeFiles(t, work, map[string]string{
		"README.md":            "version 1\n",
		"run.sh":               "#!/bin/sh\necho run\n",
		"modules/app/main.tf":  "# app\n",
		"modules/app/bin/x.sh": "#!/bin/sh\n",
		"shared/common.tf":     "# common\n",
	})
	for link, target := range map[string]string{"readme-link": "README.md", "modules/app/common": "../../shared"} {
		if err := os.Symlink(target, filepath.Join(work, link)); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(name, msg string) {
		gitRun(t, work, "add", "-A")
		gitRun(t, work, "commit", "-q", "-m", msg)
		f.commits[name] = gitRun(t, work, "rev-parse", "HEAD")
	}
	commit("c1", "first")
	writeFiles(t, work, map[string]string{"README.md": "version 2\n"})
	commit("c2", "second")
	gitRun(t, work, "tag", "-a", "v1", "-m", "release 1")
	writeFiles(t, work, map[string]string{"README.md": "version 3\n"})
	commit("c3", "third")
	gitRun(t, work, "tag", "light")
	gitRun(t, work, "checkout", "-q", "-b", "feature", f.commits["c1"])
	writeFiles(t, work, map[string]string{"feature.txt": "feature\n"})
	commit("c4", "feature")
	gitRun(t, work, "checkout", "-q", "main")

	root := t.TempDir()
	gitRun(t, "", "clone", "-q", "--bare", work, filepath.Join(root, "repo.git"))
	backend := &cgi.Handler{
		Path: gitBin,
		Args: []string{"http-backend"},
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + root},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != gitUser || p != gitPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/repo.git"
	return f
}

// tree describes a directory: "file 0644 <content>", "link -> <target>" or "dir".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link -> " + target
		case fi.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "file " + fi.Mode().Perm().String() + " " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func rootTree(readme string) map[string]string {
	return map[string]string{
		"README.md":            "file -rw-r--r-- " + readme,
		"run.sh":               "file -rwxr-xr-x #!/bin/sh\necho run\n",
		"readme-link":          "link -> README.md",
		"modules":              "dir",
		"modules/app":          "dir",
		"modules/app/main.tf":  "file -rw-r--r-- # app\n",
		"modules/app/bin":      "dir",
		"modules/app/bin/x.sh": "file -rwxr-xr-x #!/bin/sh\n",
		"modules/app/common":   "link -> ../../shared",
		"shared":               "dir",
		"shared/common.tf":     "file -rw-r--r-- # common\n",
	}
}

func with(m map[string]string, extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func TestRun(t *testing.T) {
	f := newFixture(t)
	c := f.commits
	commitFile := func(id string) map[string]string {
		return map[string]string{contract.GitCommitFileName: "file -rw-r--r-- " + id + "\n"}
	}
	tests := []struct {
		name, ref, path string
		wantCommit      string
		wantTree        map[string]string
	}{
		{name: "empty ref is the remote HEAD", wantCommit: c["c3"], wantTree: rootTree("version 3\n")},
		{name: "full branch ref", ref: "refs/heads/feature", wantCommit: c["c4"],
			wantTree: with(rootTree("version 1\n"), map[string]string{"feature.txt": "file -rw-r--r-- feature\n"})},
		{name: "branch as the specification writes it", ref: "/refs/heads/main", wantCommit: c["c3"], wantTree: rootTree("version 3\n")},
		{name: "bare branch name", ref: "feature", wantCommit: c["c4"],
			wantTree: with(rootTree("version 1\n"), map[string]string{"feature.txt": "file -rw-r--r-- feature\n"})},
		{name: "annotated tag", ref: "refs/tags/v1", wantCommit: c["c2"], wantTree: rootTree("version 2\n")},
		{name: "bare tag name", ref: "v1", wantCommit: c["c2"], wantTree: rootTree("version 2\n")},
		{name: "lightweight tag", ref: "light", wantCommit: c["c3"], wantTree: rootTree("version 3\n")},
		{name: "commit id below every tip", ref: c["c1"], wantCommit: c["c1"], wantTree: rootTree("version 1\n")},
		{name: "commit id of a tag's commit", ref: c["c2"], wantCommit: c["c2"], wantTree: rootTree("version 2\n")},
		{name: "commit id at a branch tip", ref: c["c4"], wantCommit: c["c4"],
			wantTree: with(rootTree("version 1\n"), map[string]string{"feature.txt": "file -rw-r--r-- feature\n"})},
		{name: "abbreviated commit id", ref: c["c1"][:8], wantCommit: c["c1"], wantTree: rootTree("version 1\n")},
		{name: "upper-case commit id", ref: strings.ToUpper(c["c2"][:10]), wantCommit: c["c2"], wantTree: rootTree("version 2\n")},
		{name: "sub path", path: "modules/app/", wantCommit: c["c3"], wantTree: map[string]string{
			"main.tf": "file -rw-r--r-- # app\n", "bin": "dir", "bin/x.sh": "file -rwxr-xr-x #!/bin/sh\n",
			"common": "link -> ../../shared",
		}},
		{name: "sub path with a leading slash at a tag", path: "/shared", ref: "v1", wantCommit: c["c2"],
			wantTree: map[string]string{"common.tf": "file -rw-r--r-- # common\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			cfg := config{
				URL: f.url, Ref: tt.ref, Path: tt.path, Username: gitUser, Password: gitPassword,
				Dest: dest, ErrorFile: contract.ErrorFile(dest), CommitFile: contract.GitCommitFile(dest),
				Reserved: []string{contract.ErrorFile(dest), contract.GitCommitFile(dest)}, ScratchDir: t.TempDir(),
				TerminationLog: filepath.Join(t.TempDir(), "termination-log"),
			}
			var logs bytes.Buffer
			if err := run(context.Background(), cfg, &logs); err != nil {
				t.Fatalf("run: %v\n%s", err, logs.String())
			}
			if b, err := os.ReadFile(cfg.TerminationLog); err != nil || string(b) != "commit="+tt.wantCommit+"\n" {
				t.Errorf("termination message %q, %v; want the commit for the executor", b, err)
			}
			want := with(tt.wantTree, commitFile(tt.wantCommit))
			if diff := cmp.Diff(want, tree(t, dest)); diff != "" {
				t.Errorf("checked out tree mismatch (-want +got):\n%s", diff)
			}
			if strings.Contains(logs.String(), gitPassword) {
				t.Errorf("logs reveal the password:\n%s", logs.String())
			}
			if entries, _ := os.ReadDir(cfg.ScratchDir); len(entries) != 0 {
				t.Errorf("scratch clone left behind: %v", entries)
			}
		})
	}
}

func TestRun_Failures(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		edit    func(*config)
		wantErr []string
	}{
		{
			name:    "wrong password",
			edit:    func(c *config) { c.Password = "wrong-" + gitPassword },
			wantErr: []string{"fetch http://127.0.0.1:", "/repo.git: authentication required: unauthorized: the server wants credentials or refused them"},
		},
		{
			name: "password in the URL",
			edit: func(c *config) {
				c.URL = strings.Replace(f.url, "http://", "http://"+gitUser+":"+gitPassword+"x@", 1)
				c.Password = ""
			},
			wantErr: []string{"fetch http://127.0.0.1:"},
		},
		{
			name:    "unknown ref",
			edit:    func(c *config) { c.Ref = "refs/heads/nope" },
			wantErr: []string{`ref "refs/heads/nope" not found: no such branch or tag (branches: feature, main; tags: light, v1)`},
		},
		{
			name:    "unknown bare name",
			edit:    func(c *config) { c.Ref = "release-2" },
			wantErr: []string{`ref "release-2" not found`},
		},
		{
			name:    "unknown commit",
			edit:    func(c *config) { c.Ref = strings.Repeat("0", 40) },
			wantErr: []string{"commit 0000000000000000000000000000000000000000 not found on any branch or tag"},
		},
		{
			name:    "unknown abbreviated commit",
			edit:    func(c *config) { c.Ref = "0000000" },
			wantErr: []string{"no commit starting with 0000000"},
		},
		{
			name:    "missing sub path",
			edit:    func(c *config) { c.Path = "nowhere" },
			wantErr: []string{`path "nowhere" is not a directory of the commit`},
		},
		{
			name:    "sub path is a file",
			edit:    func(c *config) { c.Path = "README.md" },
			wantErr: []string{`path "README.md" is a file, not a directory`},
		},
		{
			name:    "sub path climbing out",
			edit:    func(c *config) { c.Path = "modules/../../etc" },
			wantErr: []string{`GIT_PATH "modules/../../etc" must not contain ".."`},
		},
		{
			name:    "no URL",
			edit:    func(c *config) { c.URL = "" },
			wantErr: []string{"GIT_URL is not set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			cfg := config{
				URL: f.url, Username: gitUser, Password: gitPassword,
				Dest: dest, ErrorFile: contract.ErrorFile(dest), CommitFile: contract.GitCommitFile(dest), ScratchDir: t.TempDir(),
			}
			tt.edit(&cfg)
			var logs bytes.Buffer
			err := run(context.Background(), cfg, &logs)
			if err == nil {
				t.Fatal("run succeeded, want an error")
			}
			errFile, rerr := os.ReadFile(cfg.ErrorFile)
			if rerr != nil {
				t.Fatalf("error file: %v", rerr)
			}
			if got, want := string(errFile), "git-init: "+err.Error()+"\n"; got != want {
				t.Errorf("error file = %q, want %q", got, want)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, out := range []string{err.Error(), logs.String()} {
				if strings.Contains(out, gitPassword) || strings.Contains(out, gitUser+":") {
					t.Errorf("output reveals a credential: %q", out)
				}
			}
			if _, err := os.Stat(cfg.CommitFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("commit file written on failure")
			}
		})
	}
}

// The runner's contract files belong to the runner, even if the repository has files of
// those names, and a file left by an earlier attempt (even a link) is replaced, not followed.
func TestRun_ReservedAndExistingFiles(t *testing.T) {
	f := newFixture(t)
	dest := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.Symlink(outside, filepath.Join(dest, "README.md")); err != nil {
		t.Fatal(err)
	}
	cfg := config{
		URL: f.url, Ref: "light", Username: gitUser, Password: gitPassword, Dest: dest,
		CommitFile: contract.GitCommitFile(dest), Reserved: []string{filepath.Join(dest, "run.sh")}, ScratchDir: t.TempDir(),
	}
	var logs bytes.Buffer
	if err := run(context.Background(), cfg, &logs); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := tree(t, dest)
	if _, ok := got["run.sh"]; ok {
		t.Errorf("reserved run.sh was copied")
	}
	if got["README.md"] != "file -rw-r--r-- version 3\n" {
		t.Errorf("README.md = %q", got["README.md"])
	}
	if _, err := os.Lstat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a link left in the destination was followed")
	}
	if !strings.Contains(logs.String(), "warning: run.sh is not copied") {
		t.Errorf("no warning about run.sh:\n%s", logs.String())
	}
}

func TestAuthFor_Ssh(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key := string(pem.EncodeToMemory(block))
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	knownHosts := "github.com " + string(ssh.MarshalAuthorizedKey(signer.PublicKey()))

	remoteAddr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
	tests := []struct {
		name, url, key, knownHosts string
		wantUser, wantErr, wantLog string
	}{
		{name: "scp-like URL without user", url: "github.com:my-org/project.git", key: key, knownHosts: knownHosts, wantUser: "git"},
		{name: "user from the URL", url: "ssh://deploy@github.com/my-org/project.git", key: key, wantUser: "deploy",
			wantLog: "warning: GIT_KNOWN_HOSTS is empty, so the SSH host key of github.com is not verified"},
		{name: "not a key", url: "git@github.com:my-org/project.git", key: "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n-----END OPENSSH PRIVATE KEY-----\n",
			wantErr: "GIT_SSH_KEY is not a usable private key"},
		{name: "no credentials", url: "git@github.com:my-org/project.git", wantErr: "an SSH URL needs credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cfg := config{URL: tt.url, Username: "git", SSHKey: tt.key, KnownHosts: tt.knownHosts}
			auth, err := authFor(cfg, t.TempDir(), newLogger(&logs))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "c2VjcmV0") {
					t.Errorf("error quotes the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cc, err := auth.(interface {
				ClientConfig() (*ssh.ClientConfig, error)
			}).ClientConfig()
			if err != nil {
				t.Fatal(err)
			}
			if cc.User != tt.wantUser {
				t.Errorf("user = %q, want %q", cc.User, tt.wantUser)
			}
			if cc.HostKeyCallback == nil {
				t.Fatal("no host key callback")
			}
			if tt.knownHosts != "" {
				if err := cc.HostKeyCallback("github.com:22", remoteAddr, signer.PublicKey()); err != nil {
					t.Errorf("pinned host key rejected: %v", err)
				}
				_, other, _ := ed25519.GenerateKey(rand.Reader)
				otherSigner, _ := ssh.NewSignerFromKey(other)
				if err := cc.HostKeyCallback("github.com:22", remoteAddr, otherSigner.PublicKey()); err == nil {
					t.Errorf("unknown host key accepted")
				}
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, logs.String())
			}
		})
	}
}

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", 0) }

func TestRedact(t *testing.T) {
	cfg := config{URL: "https://bob:t0k%2Fen@git.example.com/org/repo.git", Password: "p@ss/word"}
	tests := map[string]string{
		"fetch https://bob:t0k%2Fen@git.example.com/org/repo.git: 401": "fetch https://git.example.com/org/repo.git: 401",
		"token t0k/en and t0k%2Fen":                                    "token *** and ***",
		"password p@ss/word or p%40ss%2Fword":                          "password *** or ***",
		"other http://alice:x@host/path":                               "other http://host/path",
	}
	for in, want := range tests {
		if got := cfg.redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := redactURL("https://bob:secret@git.example.com/r.git"), "https://git.example.com/r.git"; got != want {
		t.Errorf("redactURL() = %q, want %q", got, want)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"GIT_URL": "https://h/r.git", "GIT_REF": "main", "SCRIPTS_DIRECTORY": "/w", "GIT_PASSWORD": "p"}
	got := configFromEnv(func(k string) string { return env[k] })
	want := config{
		URL: "https://h/r.git", Ref: "main", Username: "git", Password: "p", Dest: "/w",
		ErrorFile: "/w/error.txt", CommitFile: "/w/.containerdriver-git-commit", TerminationLog: "/dev/termination-log",
		Reserved: []string{"/w/outputs.json", "/w/secret-outputs.json", "/w/error.txt", "/w/.containerdriver-git-commit"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config mismatch (-want +got):\n%s", diff)
	}
}

// A reserved directory (PLAN_ARTIFACT_DIR in a plan Job) is not copied, nor anything in
// it, while the rest of the repository is.
func TestRun_ReservedDirectory(t *testing.T) {
	f := newFixture(t)
	dest := t.TempDir()
	cfg := config{
		URL: f.url, Ref: "light", Username: gitUser, Password: gitPassword, Dest: dest,
		CommitFile: contract.GitCommitFile(dest), Reserved: []string{filepath.Join(dest, "modules")}, ScratchDir: t.TempDir(),
	}
	var logs bytes.Buffer
	if err := run(context.Background(), cfg, &logs); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := tree(t, dest)
	for name := range got {
		if name == "modules" || strings.HasPrefix(name, "modules/") {
			t.Errorf("%s was copied into the reserved directory", name)
		}
	}
	if got["shared/common.tf"] == "" {
		t.Errorf("shared/common.tf was not copied: %v", got)
	}
}

// In a plan Job the executor gives git-init the plan files: they are reserved.
func TestConfigFromEnv_Plan(t *testing.T) {
	env := map[string]string{"GIT_URL": "https://h/r.git", "SCRIPTS_DIRECTORY": "/w",
		"PLAN_FILE": "/w/plan.txt", "PLAN_SUMMARY_FILE": "/w/plan-summary.json", "PLAN_ARTIFACT_DIR": "/w/.containerdriver-plan"}
	got := configFromEnv(func(k string) string { return env[k] }).Reserved
	want := []string{"/w/outputs.json", "/w/secret-outputs.json", "/w/error.txt", "/w/.containerdriver-git-commit",
		"/w/plan.txt", "/w/plan-summary.json", "/w/.containerdriver-plan"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reserved (-want +got):\n%s", diff)
	}
}
