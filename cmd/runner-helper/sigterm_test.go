package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the child's output is written to while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const envChild = "RUNNER_HELPER_TEST_CHILD"

// TestRunnerHelperChild is not a test: it is runner-helper's main, run in a child
// process of TestSIGTERMReachesTheTool with the arguments after "--".
func TestRunnerHelperChild(t *testing.T) {
	if os.Getenv(envChild) != "1" {
		t.Skip("runs only as the child process of TestSIGTERMReachesTheTool")
	}
	for i, a := range os.Args {
		if a == "--" {
			os.Args = append([]string{"runner-helper"}, os.Args[i+1:]...)
			break
		}
	}
	main() // exits
}

// slowModule holds the tool in apply, with the state locked, until it is interrupted.
const slowModule = `
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "exec sleep 120"
  }
}
`

// The kubelet stops a pod by sending SIGTERM to its containers' first process: in a
// runner built on runner-helper that is runner-helper, not the tool. runner-helper must
// pass the signal on (as SIGINT) so the tool stops cleanly and frees its state lock before
// the kubelet kills it; otherwise the lock is left behind and every later run fails on
// it. Here a real runner-helper process runs a real tool in apply, holding the local
// backend's lock, and gets SIGTERM, alone (not its process group).
func TestSIGTERMReachesTheTool(t *testing.T) {
	for _, tool := range tools {
		t.Run(tool, func(t *testing.T) {
			j := newJob(t, tool, map[string]string{"main.tf": slowModule})
			if err := os.WriteFile(j.inputs, []byte("{}"), 0o444); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-test.run=^TestRunnerHelperChild$", "--", tool, "-binary", j.bin}, j.localState()...)
			cmd := exec.Command(os.Args[0], args...)
			// A fresh TMPDIR: runner-helper keeps HOME and TF_DATA_DIR there, as in a new pod.
			cmd.Env = append(os.Environ(), envChild+"=1", "ACTION=create", "HOME="+t.TempDir(), "TMPDIR="+t.TempDir())
			for k, v := range j.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			var out syncBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			// Its own process group: the signal below reaches runner-helper only, and the
			// group is killed at the end whatever happened.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })

			lock := filepath.Join(j.stateDir, ".state.tfstate.lock.info")
			locked := false
			ended := false
			for deadline := time.Now().Add(3 * time.Minute); !locked && !ended && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				_, err := os.Stat(lock)
				locked = err == nil && strings.Contains(out.String(), "local-exec")
				select {
				case err := <-exited:
					ended = true
					exited <- err
				default:
				}
			}
			if !locked {
				t.Fatalf("%s never held the state lock in apply:\n%s", tool, out.String())
			}
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				var exitErr *exec.ExitError
				if !errors.As(err, &exitErr) || exitErr.ExitCode() <= 0 {
					t.Errorf("runner-helper ended with %v, want a failure exit code", err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("runner-helper did not end within 2 minutes of SIGTERM:\n%s", out.String())
			}
			if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the state lock %s is still held after runner-helper ended (%v):\n%s", lock, err, out.String())
			}
			if !strings.Contains(out.String(), "Interrupt received") {
				t.Errorf("%s was not interrupted:\n%s", tool, out.String())
			}
			// A tool still running after runner-helper ended would hold the lock later. (Its
			// processes may take a moment to end; zombies nobody reaps do not count.)
			left := groupProcesses(cmd.Process.Pid)
			for deadline := time.Now().Add(30 * time.Second); left != "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				left = groupProcesses(cmd.Process.Pid)
			}
			if left != "" {
				t.Errorf("processes of the group still run 30s after runner-helper ended:\n%s", left)
			}
			t.Logf("runner-helper's output:\n%s", out.String())
		})
	}
}

// groupProcesses lists the live (not zombie) processes of process group pgid, from /proc.
func groupProcesses(pgid int) string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its ")".
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 3 || f[0] == "Z" || f[2] != strconv.Itoa(pgid) {
			continue
		}
		out = append(out, s[:i+1]+" "+f[0])
	}
	return strings.Join(out, "\n")
}
