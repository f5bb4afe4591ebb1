package containerdriver

import (
	"bufio"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// failureModesGuide is the guide whose fault matrix TestInterpret_FailureModes follows.
const failureModesGuide = "../../docs-templates/guides/failure-modes.md.tmpl"

// judged is what the interpreter made of one report of the cluster.
type judged struct {
	res  *Result
	fail *Failure
	// over: the watch stops waiting (the pod ended, or a failure ends the wait).
	over bool
}

// failureMode is a row of the failure-modes guide's fault matrix, named by its Fault cell:
// what the cluster reports at that fault (judge hands it to the interpreter) and what the
// interpreter makes of it.
type failureMode struct {
	fault string
	judge func() judged
	want  judged
}

// Every row of the failure-modes guide's fault matrix: what the interpreter makes of what
// the cluster reports. A row whose fault the interpreter never sees (it is decided before
// a pod exists, or by the claims) is in notInterpreted instead, with the test that proves
// it; TestFailureModesGuideIsCovered keeps both lists and the guide in step.
func TestInterpret_FailureModes(t *testing.T) {
	for _, row := range failureModes() {
		t.Run(row.fault, func(t *testing.T) {
			got := row.judge()
			if diff := cmp.Diff(row.want, got, cmp.AllowUnexported(judged{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func failureModes() []failureMode {
	spec := minimalSpec()
	spec.State = &StateSpec{Path: "/workspace/state"}
	spec.Job.SecretVariables = map[string]string{"TOKEN": "s3cret-value"}
	red := newRedactor(spec)
	commit := "0123456789abcdef0123456789abcdef01234567"
	term := func(name string, code int32, reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: msg}}}
	}
	waiting := func(name, reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	running := corev1.ContainerStatus{Name: contract.ContainerRunner, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	pod := func(phase corev1.PodPhase, init []corev1.ContainerStatus, containers ...corev1.ContainerStatus) *corev1.Pod {
		p := &corev1.Pod{Status: corev1.PodStatus{Phase: phase, InitContainerStatuses: init, ContainerStatuses: containers}}
		p.Name = "job-pod"
		return p
	}
	gitInitOK := []corev1.ContainerStatus{term(contract.ContainerGitInit, 0, "Completed", contract.GitCommitMessage(commit))}
	succeeded := pod(corev1.PodSucceeded, gitInitOK, term(contract.ContainerRunner, 0, "Completed", ""))
	harvest := func(h outputs.Harvest) *outputs.Harvest { h.ContractVersion = contract.Version; return &h }
	// judge is what harvest makes of an ended pod, and what the watch makes of one that runs.
	ended := func(p *corev1.Pod, h *outputs.Harvest) judged {
		res, f := interpret(p, h, nil, spec, red)
		return judged{res: res, fail: f, over: podOver(p)}
	}
	// watching is what the watch's pure part makes of a pod that has not ended.
	watching := func(p *corev1.Pod) judged {
		if f := refusal(p, red); f != nil {
			return judged{fail: f, over: true}
		}
		for _, cs := range allStatuses(p) {
			if wt := cs.State.Waiting; wt != nil && (unrecoverableWaiting[wt.Reason] || pullFailurePermanent(wt.Message)) {
				return judged{fail: waitingFailure(cs.Name, wt, red), over: true}
			}
		}
		return judged{over: podOver(p)}
	}
	runnerDone := &RunnerStatus{State: "terminated", Reason: "Completed"}
	return []failureMode{
		{
			// The re-attached Job's pod ended while nobody watched: its result is read as if
			// the provider had waited (the run is recorded once).
			fault: "Terraform (and the provider) killed during a **create**",
			judge: func() judged { return ended(succeeded, harvest(outputs.Harvest{Outputs: []byte(`{"a":"1"}`)})) },
			want: judged{over: true, res: &Result{Outputs: map[string]any{"a": "1"}, SecretOutputs: map[string]any{},
				GitCommit: commit, Runner: RunnerStatus{State: "terminated", Reason: "Completed"}}},
		},
		{
			// The re-attached Job's runner still runs: no failure, the wait goes on.
			fault: "Terraform killed during an **update** or **destroy**",
			judge: func() judged { return watching(pod(corev1.PodRunning, gitInitOK, running)) },
			want:  judged{over: false},
		},
		{
			fault: "**Ctrl-C** (interrupt)",
			judge: func() judged {
				f := stoppedFailure(context.Canceled, true)
				f.noteState(spec, harvest(outputs.Harvest{StateBytes: 42}), nil)
				return judged{fail: f, over: true}
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeStopped, Reason: ReasonInterrupted, WithLogs: true, StateSaved: ptr.To(true),
				Message: "the run was interrupted before it finished (context canceled); its pod was stopped gracefully (SIGTERM to the runner, then outputs-fetcher); its state directory was saved (42 bytes)"}},
		},
		{
			fault: "**Timeout** (`timeouts`)",
			judge: func() judged {
				f := stoppedFailure(context.DeadlineExceeded, true)
				f.noteState(spec, harvest(outputs.Harvest{StateError: "upload refused"}), nil)
				return judged{fail: f, over: true}
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeStopped, Reason: ReasonTimeout, WithLogs: true, StateSaved: ptr.To(false),
				Message: "the run timed out: it did not finish in time (context deadline exceeded); its pod was stopped gracefully (SIGTERM to the runner, then outputs-fetcher); " +
					"its state directory was NOT saved (upload refused): the previously saved state is kept"}},
		},
		{
			// git-init failed: the runner never started, its error file is the reason.
			fault: "`git-init`, `pre-checks` or `state-restore` fails",
			judge: func() judged {
				p := pod(corev1.PodFailed, []corev1.ContainerStatus{term(contract.ContainerGitInit, 128, "Error", "fatal: repository not found")},
					waiting(contract.ContainerRunner, "PodInitializing", ""))
				return ended(p, harvest(outputs.Harvest{ErrorText: "git clone failed", StateError: "not saved: state-restore did not finish"}))
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeFailed, Container: contract.ContainerGitInit, Reason: "Error", ExitCode: ptr.To(int32(128)),
				Message: "fatal: repository not found", ErrorFile: "git clone failed", WithLogs: true,
				Runner: &RunnerStatus{State: "waiting", Reason: "PodInitializing"}}},
		},
		{
			fault: "Reading or writing the state hits a transient API error",
			judge: func() judged {
				return ended(succeeded, harvest(outputs.Harvest{StateError: "save state: the server is currently unable to handle the request"}))
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeOutputsRejected, Container: contract.ContainerOutputsFetcher, Reason: ReasonStateNotSaved,
				Message: "save state: the server is currently unable to handle the request", WithLogs: true, Runner: runnerDone}},
		},
		{
			fault: "The runner leaves a symbolic link, hard link, named pipe or device in place of `OUTPUTS_FILE`, `SECRET_OUTPUTS_FILE`, `ERROR_FILE` or in `state_path` (by mistake, or to make the sidecar read its token)",
			judge: func() judged {
				return ended(succeeded, harvest(outputs.Harvest{Problems: []string{"/workspace/outputs.json was refused: it is a symbolic link"}}))
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeOutputsRejected, Container: contract.ContainerRunner, Reason: ReasonInvalidOutputs, WithLogs: true, Runner: runnerDone,
				Message:  InvalidOutputsMessage + ": /workspace/outputs.json was refused: it is a symbolic link",
				Problems: []OutputProblem{{ProblemInvalid, "/workspace/outputs.json was refused: it is a symbolic link"}}}},
		},
		{
			// The commit is git-init's termination message, whatever the runner wrote.
			fault: "The runner rewrites `.containerdriver-git-commit`",
			judge: func() judged {
				p := pod(corev1.PodSucceeded, gitInitOK, term(contract.ContainerRunner, 0, "Completed", contract.GitCommitMessage("ffffffffffffffffffffffffffffffffffffffff")))
				return ended(p, harvest(outputs.Harvest{}))
			},
			want: judged{over: true, res: &Result{Outputs: map[string]any{}, SecretOutputs: map[string]any{}, GitCommit: commit,
				Runner: RunnerStatus{State: "terminated", Reason: "Completed", Message: contract.GitCommitMessage("ffffffffffffffffffffffffffffffffffffffff")}}},
		},
		{
			// An eviction: the pod says why; it is a deletion, not a runner failure.
			fault: "The pod is deleted or evicted, or its node is lost",
			judge: func() judged {
				p := pod(corev1.PodRunning, gitInitOK, running)
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: "EvictionByEvictionAPI", Message: "Eviction API: evicting"}}
				return judged{fail: deletedPodFailure(p), over: true}
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeStopped, Reason: ReasonPodDeleted, WithLogs: true,
				Message: "the run's pod job-pod was deleted before the run finished (EvictionByEvictionAPI: Eviction API: evicting): " +
					"by kubectl delete, an eviction, a node drain or the loss of its node; the runner was stopped"}},
		},
		{
			// Unschedulable is waited out (not over), and fails with the scheduler's message
			// once the grace has passed.
			fault: "The pod cannot be scheduled",
			judge: func() judged {
				p := pod(corev1.PodPending, nil)
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Insufficient cpu."}}
				j := watching(p)
				if c := unschedulableCondition(p); c != nil {
					j.fail = unschedulableFailure(time.Minute, c.Message)
				}
				return j
			},
			want: judged{over: false, fail: &Failure{Outcome: OutcomeNotRun, Reason: ReasonUnschedulable, WithLogs: true,
				Message: "the pod could not be scheduled for 1m0s: 0/1 nodes are available: 1 Insufficient cpu."}},
		},
		{
			// An image that does not exist fails at once (a 429 would be retried: TestPodWatch_PullRetries).
			fault: "Image pull errors",
			judge: func() judged {
				return watching(pod(corev1.PodPending, gitInitOK, waiting(contract.ContainerRunner, ReasonErrImagePull,
					`failed to pull image "example.local/runner:1": not found`)))
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeFailed, Container: contract.ContainerRunner, Reason: ReasonErrImagePull,
				Message: `failed to pull image "example.local/runner:1": not found`}},
		},
		{
			// The earlier Job of the same name had a FailedCreate event: not this run's. This
			// Job's own FailedCreate fails it.
			fault: "A retry after a `FailedCreate` (a ResourceQuota, Pod Security admission)",
			judge: func() judged {
				ev := func(uid string) *corev1.Event {
					return &corev1.Event{Reason: "FailedCreate", Message: `pods "job-x" is forbidden: exceeded quota: q`,
						InvolvedObject: corev1.ObjectReference{Kind: "Job", UID: k8stypes.UID("uid-" + uid)}}
				}
				if f := jobEventFailure(ev("earlier"), "uid-now"); f != nil {
					return judged{fail: f, over: true}
				}
				return judged{fail: jobEventFailure(ev("now"), "uid-now"), over: true}
			},
			want: judged{over: true, fail: &Failure{Outcome: OutcomeNotRun, Reason: ReasonFailedCreate, WithLogs: true,
				Message: `the Job's pod could not be created: pods "job-x" is forbidden: exceeded quota: q`}},
		},
	}
}

// notInterpreted are the guide's faults the interpreter never sees, with the test (named in
// the guide's row) that proves what happens.
var notInterpreted = map[string]string{
	"A new configuration applied while a killed update's Job still runs":                                                                                            "TestAccExecutor_TwoJobsOfOneRunDoNotOverlap",
	"An input too large for one Kubernetes object (over about 1 MiB: `inputs`, `files`, `secret_files`, `job.secret_variables`, `job.variables`, `target.content`)": "TestAccExecutor_OversizedInputLeavesNothing",
	"A run's service account deleted, or a right it needs withdrawn, less than 30 s after another run of the same provider process found it":                        "TestAccExecutor_DeletedServiceAccountWithinTheAnswersLife",
	"A Secret or ConfigMap of the run refused by the API":                                                                                                           "TestAccExecutor_RefusedSecretLeavesNothing",
	"Terraform killed **between a Job's create and its inputs'** (the Job is created first, its Secrets and ConfigMaps right after)":                                "TestAccExecutor_JobWithoutItsInputsIsReplaced",
	"A run's input Secrets **deleted** while its Job exists and its pod has started":                                                                                "TestAccExecutor_StartedJobWithoutItsInputsIsRefused",
}

// Every row of the guide's fault matrix is a row of TestInterpret_FailureModes or, with the
// test its row names, of notInterpreted; neither list names a fault the guide lacks.
func TestFailureModesGuideIsCovered(t *testing.T) {
	interpreted := map[string]bool{}
	for _, row := range failureModes() {
		interpreted[row.fault] = true
	}
	rows := faultMatrix(t)
	if len(rows) < 10 {
		t.Fatalf("read %d rows of the fault matrix from %s", len(rows), failureModesGuide)
	}
	for fault, tests := range rows {
		test, skipped := notInterpreted[fault]
		switch {
		case interpreted[fault] && skipped:
			t.Errorf("%q is both interpreted and not", fault)
		case skipped && !strings.Contains(tests, "`"+test+"`"):
			t.Errorf("%q: the guide's row does not name %s", fault, test)
		case !interpreted[fault] && !skipped:
			t.Errorf("the guide's fault %q has no row in TestInterpret_FailureModes", fault)
		}
	}
	for fault := range interpreted {
		if _, ok := rows[fault]; !ok {
			t.Errorf("TestInterpret_FailureModes has a row %q the guide does not", fault)
		}
	}
	for fault := range notInterpreted {
		if _, ok := rows[fault]; !ok {
			t.Errorf("notInterpreted names %q, which the guide does not", fault)
		}
	}
}

// faultMatrix reads the guide's fault matrix: the Tests cell of each row, by its Fault cell.
func faultMatrix(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(failureModesGuide)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]string{}
	in := false
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## The fault matrix"
		case in && strings.HasPrefix(line, "| "):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			fault := strings.TrimSpace(cells[0])
			if fault == "Fault" || strings.HasPrefix(fault, "---") {
				continue
			}
			rows[fault] = strings.TrimSpace(cells[len(cells)-1])
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// The cause a watch cancels the wait with reads as its Failure.
func TestFailureCause(t *testing.T) {
	f := &Failure{Reason: ReasonJobDeleted, Message: "gone"}
	var fc *failureCause
	if err := error(&failureCause{f}); !errors.As(err, &fc) || fc.f != f || err.Error() != "JobDeleted: gone" {
		t.Errorf("%v", err)
	}
	j := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded}}}}
	if got := jobFailure(j, false); got != nil {
		t.Errorf("a Job failed by its pod's failure: %+v (the pod watch reports it)", got)
	}
	j.Status.Conditions[0].Reason = batchv1.JobReasonDeadlineExceeded
	if got := jobFailure(j, false); got == nil || got.Reason != ReasonDeadlineExceeded || got.Outcome != OutcomeStopped {
		t.Errorf("deadline: %+v", got)
	}
}

// newRunError keeps where the run was and everything of the Failure.
func TestNewRunError(t *testing.T) {
	f := &Failure{Outcome: OutcomeFailed, Container: contract.ContainerRunner, Reason: "Error", Message: "m", ExitCode: ptr.To(int32(3)),
		ErrorFile: "e", Runner: &RunnerStatus{State: "terminated"}, StateSaved: ptr.To(true), Problems: []OutputProblem{{ProblemInvalid, "p"}}, WithLogs: true}
	at := RunError{Namespace: "ns", JobName: "job", Action: contract.ActionDestroy, Reason: "ignored", Kept: true}
	got := newRunError(at, f, map[string]string{"runner": "tail"})
	want := &RunError{Namespace: "ns", JobName: "job", Action: contract.ActionDestroy, Outcome: OutcomeFailed, Container: contract.ContainerRunner,
		Reason: "Error", Message: "m", ExitCode: ptr.To(int32(3)), ErrorFile: "e", Logs: map[string]string{"runner": "tail"},
		Runner: &RunnerStatus{State: "terminated"}, StateSaved: ptr.To(true), Problems: []OutputProblem{{ProblemInvalid, "p"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
