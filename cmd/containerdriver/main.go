// Command containerdriver is the runner author's kit: it runs a runner image once through
// the provider's own executor (containerdriver run), and checks an image against the
// Container Driver contract on a real cluster (containerdriver check), without Terraform.
//
//	containerdriver run   --image IMG [--action create|destroy] [--inputs FILE] [--setup] ...
//	containerdriver check --image IMG [--inputs FILE] [--update-inputs FILE] [--invalid-inputs FILE] ...
//
// The logic is beside this file: cli.go (flags), run.go, check.go, cluster.go, junit.go.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli(ctx, os.Args[1:], streams{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}
