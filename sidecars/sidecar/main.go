// Command sidecar is the sidecar image's one binary: outputs-fetcher, pre-checks,
// git-init and state-restore in a single static executable, BusyBox style. The command
// paths the Jobs use (internal/contract: /opt/container-driver/outputsfetcher, prechecks,
// inigit for gitinit, statekeeper for staterestore) are symbolic links to it, and it runs
// the program its name names; "sidecar NAME" runs it too. One binary carries the Go runtime and the client libraries
// once, where four binaries each carried them (156 MB for the image, now under 30 MB).
package main

import (
	"fmt"
	"maps"
	"os"
	"path"
	"slices"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/gitinit"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/outputsfetcher"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/prechecks"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/staterestore"
)

// programs by the base name of their command path.
var programs = map[string]func(){
	path.Base(contract.OutputsFetcherCommand): outputsfetcher.Main,
	path.Base(contract.PreChecksCommand):      prechecks.Main,
	path.Base(contract.GitInitCommand):        gitinit.Main,
	path.Base(contract.StateRestoreCommand):   staterestore.Main,
}

func main() {
	name, args := program(os.Args)
	// Called by its own name (a link's name runs the program, which answers for itself).
	if (name == "--version" || name == "-version") && buildinfo.PrintVersion("sidecar", os.Args, os.Stdout) {
		return
	}
	if name == "-list" {
		for _, n := range slices.Sorted(maps.Keys(programs)) {
			fmt.Println(n)
		}
		return
	}
	if refusal := contract.ContractMismatch(os.Getenv(contract.EnvContractVersion)); refusal != "" && !versionAsked(args) {
		refuse(name, refusal)
	}
	run, ok := programs[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "usage: sidecar NAME, or a link named NAME to it; NAME is one of %v (sidecar -list)\n",
			slices.Sorted(maps.Keys(programs)))
		os.Exit(2)
	}
	os.Args = args
	run()
}

// versionAsked reports whether the program is only asked for its version, which any
// provider may ask.
func versionAsked(args []string) bool {
	return slices.Contains(args[1:], "--version") || slices.Contains(args[1:], "-version")
}

// refuse ends a sidecar started by a provider of another contract version before it
// does anything: the reason goes to stderr and the termination log, where the provider
// reads it, and the exit code ExitContractMismatch tells the provider what happened.
func refuse(name, reason string) {
	msg := name + ": " + reason + "\n"
	_, _ = os.Stderr.WriteString(msg)
	_ = os.WriteFile(contract.TerminationLogPath, []byte(msg), 0o644)
	os.Exit(contract.ExitContractMismatch)
}

// program is the name of the program to run and its arguments (argv[0] first): the
// name the binary was called by, or else its first argument.
func program(argv []string) (string, []string) {
	if len(argv) == 0 {
		return "", argv
	}
	if name := path.Base(argv[0]); programs[name] != nil || len(argv) == 1 {
		return name, argv
	}
	return argv[1], argv[1:]
}
