// Package startup is what every sidecar program does when it starts and when it fails:
// answer --version, reach the API server with the pod's service account, and leave its
// failure where kubectl and the executor look (the termination log, and ERROR_FILE for
// those that report to the runner's error file).
package startup

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/buildinfo"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/sidecars/internal/kube"
)

// Main is the Main of a sidecar that runs as container: it answers --version, runs run
// with a context that ends on SIGTERM or SIGINT (the pod is being deleted), and ends the
// process through Fail when run fails.
func Main(container string, run func(ctx context.Context) error) {
	if Version(container) {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	err := run(ctx)
	stop()
	if err != nil {
		Fail(container, err)
	}
}

// Version reports whether the process was asked for its version, after printing it as
// "name version": the program should then return.
func Version(name string) bool { return buildinfo.PrintVersion(name, os.Args, os.Stdout) }

// Client is the API client of the pod's service account for the sidecar that runs as
// container: its user agent names the container and the release, and every request is
// bounded by timeout.
func Client(container string, timeout time.Duration) (kube.Client, error) {
	return kube.InCluster(buildinfo.UserAgent("containerdriver-"+container), timeout)
}

// Fail ends the sidecar that runs as container after err: its Message goes to stderr,
// the termination log and each of files that is not empty, and the process exits with 1.
// Writing the files is best effort: the kubelet falls back to the log's tail when the
// termination log cannot be written.
func Fail(container string, err error, files ...string) {
	report(os.Stderr, container, err, append([]string{contract.TerminationLogPath}, files...))
	os.Exit(1)
}

// Message is how the sidecar that runs as container states err: "container: err" and a
// newline, the same on stderr, in the termination log and in ERROR_FILE.
func Message(container string, err error) []byte {
	return []byte(container + ": " + err.Error() + "\n")
}

// WriteMessage writes Message to each of files that is not empty, best effort.
func WriteMessage(container string, err error, files ...string) {
	for _, f := range files {
		if f != "" {
			_ = os.WriteFile(f, Message(container, err), 0o644)
		}
	}
}

func report(stderr io.Writer, container string, err error, files []string) {
	_, _ = stderr.Write(Message(container, err))
	WriteMessage(container, err, files...)
}
