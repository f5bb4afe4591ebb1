//go:build unix

package sharedfile_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/sharedfile"
)

// TestOpen plants what a hostile runner can leave in the shared directory and checks that
// only a regular file inside it is read, and that every refusal names the file and says
// what it is.
func TestOpen(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "token")
	if err := os.WriteFile(secret, []byte("sidecar-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write("plain.txt", "plain")
	write("sub/nested.txt", "nested")
	must(os.Symlink(secret, filepath.Join(dir, "abs-link")))
	must(os.Symlink("../"+filepath.Base(outside)+"/token", filepath.Join(dir, "rel-link")))
	must(os.Symlink("plain.txt", filepath.Join(dir, "inside-link")))
	must(os.Symlink(outside, filepath.Join(dir, "dir-link")))
	must(os.Symlink("sub", filepath.Join(dir, "inside-dir-link")))
	write("linked.txt", "linked")
	must(os.Link(filepath.Join(dir, "linked.txt"), filepath.Join(dir, "linked-too.txt")))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	must(os.Mkdir(filepath.Join(dir, "a-dir"), 0o755))

	for _, c := range []struct {
		name, want, refused string
		notExist            bool
	}{
		{name: "plain.txt", want: "plain"},
		{name: filepath.Join(dir, "plain.txt"), want: "plain"},
		{name: "sub/nested.txt", want: "nested"},
		{name: "absent", notExist: true},
		{name: "abs-link", refused: "a symbolic link"},
		{name: "rel-link", refused: "a symbolic link"},
		{name: "inside-link", refused: "a symbolic link"},
		{name: "dir-link/token", refused: "dir-link on its way is a symbolic link"},
		{name: "inside-dir-link/nested.txt", refused: "inside-dir-link on its way is a symbolic link"},
		{name: "linked.txt", refused: "a hard link (2 names"},
		{name: "fifo", refused: "a named pipe"},
		{name: "a-dir", refused: "a directory"},
		{name: secret, refused: "outside the directory"},
		{name: "../x", refused: "outside the directory"},
	} {
		t.Run(strings.ReplaceAll(c.name, "/", "_"), func(t *testing.T) {
			f, err := sharedfile.Open(dir, c.name)
			switch {
			case c.notExist:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("got %v, want not exist", err)
				}
			case c.refused != "":
				var se *sharedfile.Error
				if !errors.As(err, &se) {
					if f != nil {
						b, _ := io.ReadAll(f)
						t.Fatalf("read %q, want a refusal (%s)", b, c.refused)
					}
					t.Fatalf("got %v, want a refusal (%s)", err, c.refused)
				}
				msg := err.Error()
				if !strings.Contains(msg, c.refused) || !strings.Contains(msg, c.name) {
					t.Errorf("error %q does not name the file %q or say %q", msg, c.name, c.refused)
				}
				if strings.Contains(msg, "sidecar-token") || strings.Contains(msg, outside) && !strings.Contains(c.name, outside) {
					t.Errorf("error %q quotes the link's target", msg)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				b, err := io.ReadAll(f)
				if err != nil || string(b) != c.want {
					t.Errorf("read %q, %v; want %q", b, err, c.want)
				}
			}
		})
	}
}
