package startup

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A failure is said the same way on stderr and in every file it goes to; an unset file
// (ERROR_FILE without a shared directory) is skipped.
func TestReport_WritesEveryFile(t *testing.T) {
	dir := t.TempDir()
	termLog, errFile := filepath.Join(dir, "termination-log"), filepath.Join(dir, "error.txt")
	var stderr strings.Builder
	report(&stderr, "state-restore", errors.New("boom"), []string{termLog, "", errFile})
	const want = "state-restore: boom\n"
	if stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	for _, f := range []string{termLog, errFile} {
		if b, err := os.ReadFile(f); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", filepath.Base(f), b, err, want)
		}
	}
}
