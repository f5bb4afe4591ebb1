//go:build unix

package outputs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// TestReadFiles_Hostile plants what a hostile runner can leave instead of its files: a
// symbolic link to a file only the sidecar can read (its token), a link to a file of the
// shared directory, a hard link, a named pipe (which would block the reader until the
// kubelet kills it) and a name outside the shared directory. Nothing of the targets is
// read, and each refusal names the file.
func TestReadFiles_Hostile(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.sidecar-token"
	secretDir := t.TempDir()
	tokenFile := filepath.Join(secretDir, "token")
	writeFile(t, tokenFile, `{"token":"`+token+`"}`)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "real.json"), `{"token":"`+token+`"}`)
	writeFile(t, filepath.Join(dir, "hard.json"), `{"a":1}`)
	for _, err := range []error{
		os.Symlink(tokenFile, contract.OutputsFile(dir)),
		os.Symlink("real.json", contract.SecretOutputsFile(dir)),
		os.Link(filepath.Join(dir, "hard.json"), filepath.Join(dir, "hard-too.json")),
		syscall.Mkfifo(contract.ErrorFile(dir), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	type want struct{ file, why string }
	for _, c := range []struct {
		files Files
		want  []want
	}{
		{Files{Dir: dir, Outputs: contract.OutputsFile(dir), SecretOutputs: contract.SecretOutputsFile(dir), Error: contract.ErrorFile(dir)}, []want{
			{contract.OutputsFile(dir), "it is a symbolic link"},
			{contract.SecretOutputsFile(dir), "it is a symbolic link"},
			{contract.ErrorFile(dir), "it is a named pipe"},
		}},
		{Files{Dir: dir, Outputs: filepath.Join(dir, "hard.json")}, []want{{filepath.Join(dir, "hard.json"), "it is a hard link"}}},
		// A variable naming a file outside the shared directory is refused too.
		{Files{Dir: dir, Error: tokenFile}, []want{{tokenFile, "it is outside the directory " + dir}}},
	} {
		done := make(chan Harvest, 1)
		go func() { done <- ReadFiles(c.files) }()
		var got Harvest
		select {
		case got = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("ReadFiles blocked (on the named pipe?)")
		}
		if got.Outputs != nil || got.SecretOutputs != nil || got.ErrorText != "" {
			t.Errorf("read %q, %q, %q; want nothing", got.Outputs, got.SecretOutputs, got.ErrorText)
		}
		if len(got.Problems) != len(c.want) {
			t.Fatalf("problems %q, want %d", got.Problems, len(c.want))
		}
		for i, w := range c.want {
			p := got.Problems[i]
			if !strings.HasPrefix(p, w.file+" was refused: "+w.why) {
				t.Errorf("problem %q, want %q refused: %s", p, w.file, w.why)
			}
			if strings.Contains(p, token) {
				t.Errorf("problem %q quotes the token", p)
			}
		}
	}
}
