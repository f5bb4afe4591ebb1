// Command noop is the runner of make bench: it writes {"ok":"yes"} to OUTPUTS_FILE and
// SECRET_OUTPUTS_FILE (to stdout when they are not set, as in a bare pod) and exits 0, so
// the benchmark measures what a run costs around the runner, not the runner. With
// ACTION=plan (a run with a plan block) it writes a plan of one thing to add to PLAN_FILE
// and PLAN_SUMMARY_FILE instead, and changes nothing. With the argument "sidecar" it is
// the native sidecar of the bench's control pods: it waits for the SIGTERM the kubelet
// sends once the pod's main container has ended, and exits 0, as outputs-fetcher does.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "sidecar" {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		return
	}
	files := map[string]string{"OUTPUTS_FILE": `{"ok":"yes"}`, "SECRET_OUTPUTS_FILE": `{"ok":"yes"}`}
	if os.Getenv("ACTION") == "plan" {
		files = map[string]string{
			"PLAN_FILE":         "+ ok = \"yes\"\n",
			"PLAN_SUMMARY_FILE": `{"add": 1, "change": 0, "destroy": 0, "has_changes": true}`,
		}
	}
	for env, content := range files {
		f := os.Getenv(env)
		if f == "" {
			fmt.Println(content)
			continue
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
