package containerdriver_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/testsupport/testcluster"
)

const (
	envClaimChild = "CONTAINERDRIVER_TEST_CLAIM_CHILD"
	envClaimNS    = "CONTAINERDRIVER_TEST_CLAIM_NAMESPACE"
	envClaimImgs  = "CONTAINERDRIVER_TEST_CLAIM_IMAGES"
)

// claimSpec is the one configuration both processes create.
func claimSpec(ns, sidecar, runner string) *cd.RunSpec {
	return &cd.RunSpec{
		Job: cd.JobSpec{
			Image: runner, Command: []string{"/testrunner"}, SharedDirectory: "/workspace",
			ServiceAccount: "runner", Namespace: ns,
		},
		Inputs:       map[string]any{"v": 1},
		SidecarImage: sidecar,
	}
}

// TestClaimHolderChild is not a test: run as a child process by
// TestAccClaim_LiveClaimOfAnotherProcessIsNotAdopted, it claims claimSpec's create, says
// so on stdout, and holds (renews) the claim until it is killed.
func TestClaimHolderChild(t *testing.T) {
	if os.Getenv(envClaimChild) != "1" {
		t.Skip("runs only as the child process of TestAccClaim_LiveClaimOfAnotherProcessIsNotAdopted")
	}
	imgs := strings.SplitN(os.Getenv(envClaimImgs), " ", 2)
	spec := claimSpec(os.Getenv(envClaimNS), imgs[0], imgs[1])
	claim, err := (&cd.Executor{Client: testcluster.Client(t)}).ClaimCreate(context.Background(), spec, func() string { return "run-of-the-child" })
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	fmt.Printf("CLAIMED %s adopted=%v\n", claim.RunID, claim.Adopted)
	select {} // renewing until killed
}

// A create claim held by another provider process that is alive is never adopted, even
// by a create of the identical configuration; once that process dies (SIGKILL, a crash)
// its claim is adopted. Two real processes: the claim's holder is a child process.
func TestAccClaim_LiveClaimOfAnotherProcessIsNotAdopted(t *testing.T) {
	t.Parallel()
	e := setup(t)
	spec := claimSpec(e.ns, e.sidecar, e.runner)
	child := exec.Command(os.Args[0], "-test.run=^TestClaimHolderChild$", "-test.count=1")
	child.Env = append(os.Environ(), envClaimChild+"=1", envClaimNS+"="+e.ns, envClaimImgs+"="+e.sidecar+" "+e.runner)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = child.Wait(); close(exited) }()
	t.Cleanup(func() { _ = child.Process.Kill(); <-exited })
	lines := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if strings.HasPrefix(s.Text(), "CLAIMED ") {
				lines <- s.Text()
			}
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(2 * time.Minute):
		t.Fatal("the child process did not claim the create within 2 minutes")
	}
	if line != "CLAIMED run-of-the-child adopted=false" {
		t.Fatalf("child: %q", line)
	}

	ctx := context.Background()
	ex := &cd.Executor{Client: e.c}
	mine, err := ex.ClaimCreate(ctx, spec, func() string { return "run-of-the-parent" })
	if err != nil {
		t.Fatal(err)
	}
	if mine.RunID != "run-of-the-parent" || mine.Adopted {
		t.Errorf("the live claim of another process was adopted: run id %s, adopted %v", mine.RunID, mine.Adopted)
	}
	mine.Release(ctx)

	// The holder crashes: its claim is no longer renewed, and the next identical create
	// takes its run id over.
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	adopted, err := ex.ClaimCreate(ctx, spec, func() string { return "run-of-the-second-parent" })
	if err != nil {
		t.Fatal(err)
	}
	defer adopted.Release(ctx)
	if adopted.RunID != "run-of-the-child" || !adopted.Adopted {
		t.Errorf("the claim of the dead process was not adopted: run id %s, adopted %v", adopted.RunID, adopted.Adopted)
	}
}
