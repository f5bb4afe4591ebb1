// Command runner-helper turns OpenTofu or Terraform into a Container Driver runner:
//
//	runner-helper tofu|terraform [flags]
//
// It works in SCRIPTS_DIRECTORY (or a sub directory), passes RESOURCE_INPUTS_FILE as the
// module's variables, keeps the state in the cluster with the kubernetes backend unless told
// otherwise, runs init and apply (ACTION=create) or destroy (ACTION=destroy), and writes the
// module's outputs to OUTPUTS_FILE and SECRET_OUTPUTS_FILE split by their sensitive flag.
// ACTION=plan runs init and plan, changes nothing, and writes the plan and its summary to
// PLAN_FILE and PLAN_SUMMARY_FILE, leaving the saved plan in PLAN_ARTIFACT_DIR; a create
// with PLAN_APPLY=true applies that saved plan as it is.
// On failure the tool's error goes to ERROR_FILE and the helper exits with the tool's code.
// Run it with -h for the flags and the environment variables that mirror them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
)

func main() {
	if buildinfo.PrintVersion("runner-helper", os.Args, os.Stdout) {
		return
	}
	cfg, err := parseArgs(os.Args[1:], os.Getenv)
	if err != nil {
		if errors.Is(err, errHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "runner-helper:", err)
		writeErrorFile(os.Getenv("ERROR_FILE"), "runner-helper: "+err.Error())
		os.Exit(2)
	}
	cfg.stdout, cfg.stderr = os.Stdout, os.Stderr
	// The pod's termination sends SIGTERM; the tool is interrupted in turn so that it can
	// release its state lock before the kubelet kills it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, cfg))
}
