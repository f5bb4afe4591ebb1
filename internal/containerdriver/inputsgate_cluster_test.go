package containerdriver_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// A provider killed between the Job's create and its inputs' (made by hand here: the Job
// alone) leaves a Job whose pod waits for its inputs Secret: the kubelet fails to mount it
// and starts nothing. The next attempt replaces that Job and runs once.
func TestAccExecutor_JobWithoutItsInputsIsReplaced(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	spec := e.spec(t, map[string]any{"outputs": map[string]any{"k": "v"}})
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cr3t-value"}
	built, err := cd.BuildJob(spec, contract.ActionCreate)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.BatchV1().Jobs(e.ns).Create(ctx, built.Job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The kubelet has the pod and has tried to mount the missing Secret.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		evs, err := e.c.CoreV1().Events(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, ev := range evs.Items {
			if ev.Reason == "FailedMount" && strings.Contains(ev.Message, contract.ObjectName(built.Job.Name, contract.RoleInputs)) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no FailedMount of the inputs Secret: %v", err)
	}
	res, rec, err := e.run(t, spec, contract.ActionCreate)
	if err != nil {
		t.Fatalf("%v\n%s", err, detail(err))
	}
	if res.Outputs["k"] != "v" {
		t.Errorf("outputs %v", res.Outputs)
	}
	if !strings.Contains(rec.all(), "replacing it") {
		t.Errorf("no replacement reported:\n%s", rec.all())
	}
	pods := e.seen.Pods(map[string]string{batchv1.JobNameLabel: built.Job.Name})
	started := e.seen.StartedPods()
	if len(pods) != 2 || len(started) != 1 {
		t.Errorf("pods %v, started %v: want the left Job's pod, which started nothing, and the new one", pods, started)
	}
	e.assertEmpty(t)
}

// A Job whose pod has started but whose input Secrets are gone is left alone: it is
// neither re-attached to (its secret values cannot be checked) nor replaced (a run never
// runs twice), and the run says what to do.
func TestAccExecutor_StartedJobWithoutItsInputsIsRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	spec := e.spec(t, map[string]any{"sleep_seconds": 60, "outputs": map[string]any{"k": "v"}})
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cr3t-value"}
	built := e.crashedCaller(t, spec)
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		return len(e.seen.StartedPods()) > 0, nil
	})
	if err != nil {
		t.Fatalf("the Job's pod did not start: %v", err)
	}
	for _, s := range built.Secrets {
		if err := e.c.CoreV1().Secrets(e.ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) || re.Reason != cd.ReasonInputsMissing {
		t.Fatalf("got %v, want %s", err, cd.ReasonInputsMissing)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows a secret: %v", err)
	}
	job, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, built.Job.Name, metav1.GetOptions{})
	if err != nil || job.DeletionTimestamp != nil {
		t.Errorf("the started Job was deleted: %v", err)
	}
	if pods := e.seen.Pods(map[string]string{batchv1.JobNameLabel: built.Job.Name}); len(pods) != 1 {
		t.Errorf("pods of the Job %v, want its one pod", pods)
	}
	if err := (&cd.Executor{Client: e.c}).Cleanup(ctx, e.ns, built.Job.Name); err != nil {
		t.Fatal(err)
	}
}
