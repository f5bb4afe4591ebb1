// Command noop is the runner of make bench: it writes {"ok":"yes"} to OUTPUTS_FILE and
// SECRET_OUTPUTS_FILE (to stdout when they are not set, as in a bare pod) and exits 0, so
// the benchmark measures what a run costs around the runner, not the runner.
package main

import (
	"fmt"
	"os"
)

func main() {
	const out = `{"ok":"yes"}`
	for _, env := range []string{"OUTPUTS_FILE", "SECRET_OUTPUTS_FILE"} {
		f := os.Getenv(env)
		if f == "" {
			fmt.Println(out)
			continue
		}
		if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
