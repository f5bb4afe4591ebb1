// Package gitinit is the git-init init container of a run's pod: it checks out the
// source repository at the requested ref, copies it (or one of its directories) into the
// shared directory, and records the commit it used in GIT_COMMIT_FILE.
package gitinit

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
)

// Main runs git-init with the process's environment and exits.
func Main() {
	if buildinfo.PrintVersion("git-init", os.Args, os.Stdout) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// run has written the (redacted) error to ERROR_FILE already.
	if err := run(ctx, configFromEnv(os.Getenv), os.Stderr); err != nil {
		msg := "git-init: " + err.Error()
		fmt.Fprintln(os.Stderr, msg)
		_ = os.WriteFile(corev1.TerminationMessagePathDefault, []byte(msg+"\n"), 0o644) // best effort
		stop()
		os.Exit(1)
	}
}
