package containerdriver

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/statedir"
)

// Observer receives progress while a run is in flight. Implementations must be safe for
// concurrent use. Log lines have already had every known secret value masked.
type Observer interface {
	// Event reports a state change: the Job created or re-attached, the pod's phase, a
	// container starting or ending.
	Event(msg string)
	// LogLine reports one line of a container's log as it is written.
	LogLine(container, line string)
}

// Executor runs RunSpecs as Jobs on one cluster.
type Executor struct {
	Client kubernetes.Interface
	// Observer may be nil.
	Observer Observer
	// LogTailLines is how many lines of each container's log a RunError carries (default 30).
	LogTailLines int64
	// StopGrace overrides the termination grace period a stopped run's pod gets (default:
	// the pod template's terminationGracePeriodSeconds, else 30 s).
	StopGrace time.Duration
	// PullRetries is how many image pull failures that may be transient (a registry's 429
	// or 5xx, a timeout) a run waits out before failing (default 3). Failures that cannot
	// recover (not found, unauthorized, an invalid name) fail at once.
	PullRetries int

	// rememberFor replaces rememberedAnswerLife for the answers this executor is given
	// (remember.go), when set: cluster tests that rely on an answer being remembered.
	rememberFor time.Duration

	// contractVersion replaces the sidecar contract version the sidecars are told
	// (contract.EnvContractVersion) when set: tests see a sidecar refuse another version.
	contractVersion string
}

// defaultGracePeriod is Kubernetes' default terminationGracePeriodSeconds.
const defaultGracePeriod = 30 * time.Second

// Run runs spec with action (contract.ActionCreate or contract.ActionDestroy) and returns
// its result. A failed run returns a *RunError. A second call with the same RunID, action
// and spec re-attaches to the Job the first one created instead of starting another.
// The Job and every object created for it are deleted once its outputs are read, unless
// spec.KeepResources is set.
//
// When ctx ends before the run does (a timeout, or the caller was interrupted), the pod is
// stopped gracefully: the runner gets SIGTERM and its termination grace period, and
// outputs-fetcher saves the state directory after it; the RunError's Reason is
// ReasonTimeout or ReasonInterrupted. This stop outlives ctx by at most the pod's grace
// period plus StopMargin.
func (e *Executor) Run(ctx context.Context, spec *RunSpec, action string) (*Result, error) {
	if spec.WriteOnlyFromCluster && (action == contract.ActionDestroy || action == contract.ActionPlan) {
		if err := e.prepareWriteOnly(ctx, spec); err != nil { // writeonly.go
			return nil, err
		}
	}
	built, err := BuildJob(spec, action)
	if err != nil {
		return nil, err
	}
	job := built.Job
	ns, name := job.Namespace, job.Name
	red := newRedactor(spec)
	if e.contractVersion != "" {
		tellContractVersion(job, e.contractVersion)
	}
	if err := e.preflight(ctx, spec, ns, name, action); err != nil {
		return nil, err
	}
	// The namespace's shared watches (informers.go) serve the whole run: waiting for an
	// earlier Job of the run, then for this one's pod.
	_, release := e.sharedWatches(ns)
	defer release()
	if dl, ok := ctx.Deadline(); ok {
		// The cluster stops the run too when the caller is gone; when the caller is still
		// there, its own deadline comes first and stops the pod gracefully.
		if s := int64(time.Until(dl).Seconds()); s > 0 {
			job.Spec.ActiveDeadlineSeconds = ptr.To(s + int64(e.stopMargin(job).Seconds()))
		}
	}

	if !spec.KeepResources {
		// Normally deleted as soon as its outputs are read; this collects the Job of a
		// caller that died and never came back, with everything it owns. A day leaves a
		// retry time to re-attach to it.
		job.Spec.TTLSecondsAfterFinished = ptr.To(FinishedJobTTL)
	}
	if spec.WriteOnly != nil && action == contract.ActionCreate {
		if err := e.prepareWriteOnly(ctx, spec); err != nil { // writeonly.go
			return nil, err
		}
	}
	if spec.Adopted && action == contract.ActionCreate {
		if err := e.checkAdopted(ctx, spec, built); err != nil {
			return nil, err
		}
	}
	created, err := e.ensureJob(ctx, built, red)
	if err != nil {
		return nil, err
	}
	if created.fresh {
		e.event("created Job %s/%s (%s)", ns, name, action)
	}

	var seen harvestedObjects
	// A create or destroy this call started ends on its outputs (watch.go outputsStored). A
	// plan keeps waiting for its pod (its plan objects are read by finishPlan), and so does
	// a re-attached run: its Job, sidecar image included, was made by an earlier call, maybe
	// of another provider version. A kept Job (keep_job) is there to be looked at: its run
	// returns once it has finished, as before.
	onOutputs := created.fresh && !spec.KeepResources && (action == contract.ActionCreate || action == contract.ActionDestroy)
	drained := func() {}
	res, runErr := e.wait(ctx, spec, built, created.job, action, red, &seen, onOutputs, &drained)
	// A run that ended on its outputs still receives the end of its runner's log stream
	// while it is harvested and cleaned up: Run returns once it has it.
	defer func() { drained() }()
	if runErr != nil {
		runErr = e.afterFailure(ctx, spec, runErr) // remember.go
	}
	// The caller's context may be done (a run that ended just as it timed out); what
	// follows a successful run still has to happen.
	after, cancelAfter := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancelAfter()
	if runErr == nil && action == contract.ActionPlan {
		runErr = e.finishPlan(after, spec, res, red) // plan.go
	}
	if runErr == nil && action == contract.ActionDestroy && spec.State != nil {
		// What was destroyed has no state left to keep.
		st := &statedir.Store{Secrets: e.Client.CoreV1().Secrets(ns), Namespace: ns, RunID: spec.RunID}
		if err := st.Delete(after); err != nil {
			runErr = fmt.Errorf("destroy succeeded but deleting its state failed: %w", err)
		}
	}
	if runErr == nil && action == contract.ActionDestroy {
		runErr = e.WriteOnly(spec).Forget(after) // internal/writeonly
	}
	if !spec.KeepResources {
		if err := e.cleanup(after, ns, name, knownObjectsOf(built, created.fresh, action, &seen)); err != nil && runErr == nil {
			runErr = fmt.Errorf("run succeeded but cleaning up job %s/%s failed: %w", ns, name, err)
		}
	} else if re := (*RunError)(nil); errors.As(runErr, &re) {
		re.Kept = true
	}
	if runErr != nil {
		return nil, runErr
	}
	return res, nil
}

// FinishedJobTTL is how long Kubernetes keeps a finished Job nobody cleaned up (seconds).
const FinishedJobTTL int32 = 24 * 60 * 60

// StopMargin is how long, beyond the pod's termination grace period, a stopped run waits
// for the pod to end and for outputs-fetcher to save what the runner left.
const StopMargin = 20 * time.Second

func (e *Executor) stopMargin(job *batchv1.Job) time.Duration {
	return e.gracePeriod(job) + StopMargin
}

// gracePeriod is the termination grace period a stopped run's pod gets: StopGrace, else
// the pod template's terminationGracePeriodSeconds, else Kubernetes' default.
func (e *Executor) gracePeriod(job *batchv1.Job) time.Duration {
	if e.StopGrace > 0 {
		return e.StopGrace
	}
	if g := job.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil && *g > 0 {
		return time.Duration(*g) * time.Second
	}
	return defaultGracePeriod
}

func (e *Executor) event(format string, a ...any) {
	if e.Observer != nil {
		e.Observer.Event(fmt.Sprintf(format, a...))
	}
}

// preflight turns the most common setup mistakes into clear errors before anything is
// created: a cluster without native sidecars, a missing namespace or service account.
func (e *Executor) preflight(ctx context.Context, spec *RunSpec, ns, name, action string) error {
	at := RunError{Namespace: ns, JobName: name, Action: action}
	fail := func(reason, msg string) error {
		return newRunError(at, &Failure{Outcome: OutcomeNotRun, Reason: reason, Message: msg}, nil)
	}
	if err := e.checkNativeSidecars(fail); err != nil { // sidecarsupport.go
		return err
	}
	sa := serviceAccountOf(spec)
	missing, err := e.missingTarget(ctx, ns, sa)
	if err != nil {
		return err
	}
	if f := missingTargetFailure(missing, ns, sa); f != nil {
		return newRunError(at, f, nil)
	}
	return nil
}

// missingTargetFailure is the Failure of a run whose namespace ns or service account sa
// does not exist (missing, as missingTarget says), or nil when nothing is missing.
func missingTargetFailure(missing, ns, sa string) *Failure {
	switch missing {
	case targetNamespace:
		return &Failure{Outcome: OutcomeNotRun, Reason: ReasonNamespaceNotFound, Message: fmt.Sprintf(
			"namespace %q does not exist: create it (for example with a containerdriver_runner that has create_namespace = true) or set job.namespace", ns)}
	case targetServiceAccount:
		return &Failure{Outcome: OutcomeNotRun, Reason: ReasonServiceAccountNotFound, Message: fmt.Sprintf(
			"service account %q does not exist in namespace %q: create it with a Role allowing create on configmaps and secrets (a containerdriver_runner with create_service_account = true does that), or set job.service_account", sa, ns)}
	}
	return nil
}

// What missingTarget finds missing.
const (
	targetNamespace      = "namespace"
	targetServiceAccount = "service account"
)

// missingTarget reads the namespace and service account a run needs and returns which of
// the two does not exist ("" when both do). A Forbidden answer counts as existing: the
// provider's credentials need not read them.
//
// The service account is read first: one that exists implies its namespace does (the API
// keeps no namespaced object of a namespace that is gone), so the usual run makes one
// request, not two. Only when the service account is not found, or may not be read, is
// the namespace read, and then the answer is the same as reading the namespace first.
// That the service account exists is remembered for a while and shared by the runs of
// the same client (remember.go); that it does not, never.
func (e *Executor) missingTarget(ctx context.Context, ns, sa string) (string, error) {
	_, _, saErr := e.ask(ctx, accountKey{e.Client, ns, sa}, askExists, func(ctx context.Context) (bool, error) {
		_, err := e.Client.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
		return err == nil, err
	})
	if saErr == nil {
		return "", nil
	}
	if !apierrors.IsNotFound(saErr) && !apierrors.IsForbidden(saErr) {
		return "", fmt.Errorf("look up service account %s/%s: %w", ns, sa, saErr)
	}
	if _, err := e.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return targetNamespace, nil
	} else if err != nil && !apierrors.IsForbidden(err) {
		return "", fmt.Errorf("look up namespace %s: %w", ns, err)
	}
	if apierrors.IsNotFound(saErr) {
		return targetServiceAccount, nil
	}
	return "", nil
}

// serviceAccountOf is the service account the run's pod runs as.
func serviceAccountOf(spec *RunSpec) string {
	if spec.Job.ServiceAccount == "" {
		return "default"
	}
	return spec.Job.ServiceAccount
}

// ensured is the Job a run waits for.
type ensured struct {
	job *batchv1.Job
	// fresh is true when this call created the Job, false when it re-attached.
	fresh bool
}

// ensureJob creates the Job, then the objects its pod reads. An existing Job of the same
// name is this very run (the name hashes the run id, the action and the spec), so it is
// re-attached to. Another Job of the same run still running (a crashed caller's update
// with other inputs) is waited for first: two Jobs of one run never run at once.
func (e *Executor) ensureJob(ctx context.Context, b *JobObjects, red *redactor) (ensured, error) {
	jobs := e.Client.BatchV1().Jobs(b.Job.Namespace)
	existing, err := e.existingJob(ctx, b.Job.Namespace, b.Job.Name)
	if err != nil {
		return ensured{}, err
	}
	if existing != nil {
		if res, done, err := e.takeOver(ctx, b, existing, red); done {
			return res, err
		}
	}
	// A new Job: the provider checks the pod's rights meanwhile (permissions.go).
	checked := e.startPermissionCheck(ctx, b.Job)
	if err := e.waitOtherJobs(ctx, b.Job); err != nil {
		return ensured{}, err
	}
	// The Job comes first, so that every object made for it is owned by it from the moment
	// it exists: whatever happens to the caller, nothing outlives the Job. It is not
	// suspended: its pod starts nothing before the gate Secret, made last, exists
	// (inputsgate.go). Only a Job without such a Secret is created suspended and resumed.
	job := b.Job.DeepCopy()
	if chk := checked(); chk.allowed {
		dropInitContainer(job, contract.ContainerPreChecks)
		how := "found"
		if chk.remembered {
			how = "found, shortly before for another run,"
		}
		e.event("the provider %s the rights of service account %q allowed: the pod starts without pre-checks", how, job.Spec.Template.Spec.ServiceAccountName)
	}
	gated := inputsGate(b) != nil
	if !gated {
		job.Spec.Suspend = ptr.To(true)
	}
	created, err := jobs.Create(ctx, job, metav1.CreateOptions{})
	for attempt := 0; apierrors.IsAlreadyExists(err) && attempt < 2; attempt++ {
		// A Job the shared watch had not shown yet (made meanwhile by another caller of the
		// same run, or not managed by containerdriver): the same checks as one found before.
		existing, gerr := jobs.Get(ctx, b.Job.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(gerr) {
			created, err = jobs.Create(ctx, job, metav1.CreateOptions{})
			continue
		}
		if gerr != nil {
			return ensured{}, fmt.Errorf("look up job %s/%s: %w", b.Job.Namespace, b.Job.Name, gerr)
		}
		if res, done, terr := e.takeOver(ctx, b, existing, red); done {
			return res, terr
		}
		created, err = jobs.Create(ctx, job, metav1.CreateOptions{})
	}
	if err != nil {
		// The API refused the Job (for example a pod_template that makes it invalid).
		return ensured{}, fmt.Errorf("create job %s/%s: %w", b.Job.Namespace, b.Job.Name, err)
	}
	if msg := checkSidecarKept(created); msg != "" { // sidecarsupport.go
		// No container of its pod has started: its inputs were never made, and it mounts
		// the gate (or it is suspended). Were they made, outputs-fetcher, an ordinary init
		// container there, would never end and the runner would never start.
		if err := e.removeUnstarted(ctx, created.Namespace, created.Name); err != nil {
			msg += fmt.Sprintf(" (deleting the Job failed: %v)", err)
		}
		return ensured{}, newRunError(RunError{Namespace: created.Namespace, JobName: created.Name, Action: created.Labels[contract.LabelAction]},
			&Failure{Outcome: OutcomeNotRun, Container: contract.ContainerOutputsFetcher, Reason: ReasonNativeSidecarsUnsupported, Message: msg}, nil)
	}
	if err := e.createInputs(ctx, b, created, red); err != nil {
		return ensured{}, err
	}
	if !gated {
		if created, err = e.resume(ctx, created); err != nil {
			return ensured{}, err
		}
	}
	return ensured{job: created, fresh: true}, nil
}

// existingJob returns the Job named name if it exists, else nil. The namespace's shared
// Job watch, which the run holds and which waitOtherJobs needs synced anyway, answers "no
// such Job" without a request: the usual create then makes none before its Job. A Job the
// watch shows is read again from the API, so what follows (re-attach, or the stale checks)
// sees it as it is now. A Job the watch does not show yet (or one it never shows: not
// managed by containerdriver) is caught when the create answers AlreadyExists, and gets
// the same checks there. When the watch has not synced within sharedJobsSyncWait (an
// overloaded API server, or no right to list Jobs), the Job is read from the API.
func (e *Executor) existingJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	sw, release := e.sharedWatches(ns)
	defer release()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, sharedJobsSyncWait, true, func(context.Context) (bool, error) {
		return sw.jobs.HasSynced(), nil
	})
	if err == nil {
		if _, found, serr := sw.jobs.GetStore().GetByKey(ns + "/" + name); serr == nil && !found {
			return nil, nil
		}
	}
	existing, err := e.Client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up job %s/%s: %w", ns, name, err)
	}
	return existing, nil
}

// sharedJobsSyncWait bounds existingJob's wait for the shared Job watch's first list.
var sharedJobsSyncWait = 10 * time.Second

// takeOver decides what to do with an existing Job of the run's name. done is false when
// the Job was stale (a kept earlier run, or one started with other secret values) and has
// been removed: the caller creates a new one. Otherwise it re-attaches, or refuses a Job
// not managed by containerdriver.
func (e *Executor) takeOver(ctx context.Context, b *JobObjects, existing *batchv1.Job, red *redactor) (res ensured, done bool, err error) {
	if existing.Labels[contract.LabelManagedBy] != contract.ManagedByValue {
		return ensured{}, true, fmt.Errorf("job %s/%s exists and is not managed by containerdriver", b.Job.Namespace, b.Job.Name)
	}
	superseded, err := e.supersededJob(ctx, existing)
	changed, missing := false, false
	if err == nil && !superseded {
		// The name leaves the secret values out (secretcheck.go).
		changed, missing, err = e.secretsChanged(ctx, b)
	}
	if err != nil {
		return ensured{}, true, err
	}
	if !superseded && !changed {
		res, err := e.reattach(ctx, b, existing, red)
		return res, true, err
	}
	if missing {
		// A Job whose inputs are not all there: replaced only when it cannot have read
		// them (its creator died before making them); one whose pod may have started
		// ran with secret values nobody can check now, and a run never runs twice.
		unread, err := e.inputsUnread(ctx, b, existing) // inputsgate.go
		if err != nil {
			return ensured{}, true, err
		}
		if !unread {
			return ensured{}, true, inputsMissingError(b)
		}
		e.event("Job %s/%s was created but its inputs were not: none of its containers started; replacing it", b.Job.Namespace, b.Job.Name)
	} else {
		// A Job kept from an earlier run (keep_job) with the same inputs: a later run of
		// the resource came after it, so its result is outdated; or a Job started with
		// other secret values. Run again.
		e.event("Job %s/%s is a kept earlier run or had other secret values; replacing it", b.Job.Namespace, b.Job.Name)
	}
	if err := e.Cleanup(ctx, b.Job.Namespace, b.Job.Name); err != nil {
		return ensured{}, true, fmt.Errorf("remove kept job %s/%s: %w", b.Job.Namespace, b.Job.Name, err)
	}
	if err := e.waitGone(ctx, b.Job.Namespace, b.Job.Name); err != nil {
		return ensured{}, true, err
	}
	return ensured{}, false, nil
}

// checkAdopted refuses to re-attach an adopted run id to a Job of that run made for other
// inputs: another spec (its spec-hash annotation differs) or, under the same name, other
// secret values in the Secrets it reads. The claim's digest covers all of them, so this
// only fires when something went wrong; running this create's inputs under that id would
// hand another resource's run (and what its runner made) this resource's secrets.
func (e *Executor) checkAdopted(ctx context.Context, spec *RunSpec, b *JobObjects) error {
	ns := b.Job.Namespace
	list, err := e.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{
		contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: runLabel(spec.RunID)}.String()})
	if err != nil {
		return fmt.Errorf("list the jobs of adopted run %s in namespace %s: %w", spec.RunID, ns, err)
	}
	refuse := func(j, why string) error {
		return newRunError(RunError{Namespace: ns, JobName: j, Action: contract.ActionCreate}, &Failure{Outcome: OutcomeNotRun, Reason: ReasonAdoptedMismatch, Message: fmt.Sprintf(
			"this create took over run id %s from an interrupted create, but Job %s/%s of that run was made %s: "+
				"refusing to attach this configuration to it. Nothing was started. Find out which configuration owns run %s "+
				"(kubectl -n %s get jobs,secrets,configmaps -l %s=%s), destroy or delete what it made, delete its claim "+
				"(kubectl -n %s delete lease %s), then apply again.",
			spec.RunID, ns, j, why, spec.RunID, ns, contract.LabelRunID, runLabel(spec.RunID), ns, ClaimName(spec.RunID))}, nil)
	}
	for _, j := range list.Items {
		if j.Labels[contract.LabelAction] != contract.ActionCreate || j.DeletionTimestamp != nil {
			continue // a destroy, or going: neither re-attached to
		}
		if j.Annotations[contract.AnnotationSpecHash] != b.Job.Annotations[contract.AnnotationSpecHash] {
			return refuse(j.Name, "for other inputs (its spec hash differs)")
		}
		changed, _, err := e.secretsChanged(ctx, b)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		// A Job that has not read its Secrets (still suspended, or its gate Secret never
		// made and no container started: its creator died before making them) is
		// replaced by this create with its own values.
		unread, err := e.inputsUnread(ctx, b, &j) // inputsgate.go
		if err != nil {
			return err
		}
		if !unread {
			return refuse(j.Name, "with other secret values")
		}
	}
	return nil
}

// reattach takes over a Job of this very run that a crashed caller started. A Job made
// suspended (by a version before this one, or one without a gate Secret) whose caller died
// before resuming it gets its objects made (again) and is resumed now.
func (e *Executor) reattach(ctx context.Context, b *JobObjects, existing *batchv1.Job, red *redactor) (ensured, error) {
	e.event("re-attached to Job %s/%s", b.Job.Namespace, b.Job.Name)
	if !ptr.Deref(existing.Spec.Suspend, false) {
		return ensured{job: existing}, nil
	}
	if err := e.createInputs(ctx, b, existing, red); err != nil {
		return ensured{}, err
	}
	resumed, err := e.resume(ctx, existing)
	if err != nil {
		return ensured{}, err
	}
	return ensured{job: resumed}, nil
}

// createInputs creates the Secrets and ConfigMaps the pod reads, owned by job, the gate
// Secret last (inputsgate.go). When the API refuses one, the Job and everything made for
// it are deleted: the gate was not made, so no container of its pod has started.
func (e *Executor) createInputs(ctx context.Context, b *JobObjects, job *batchv1.Job, red *redactor) error {
	owner := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID}}
	undo := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = e.removeUnstarted(cctx, b.Job.Namespace, b.Job.Name)
	}
	createSecret := func(s *corev1.Secret) error {
		s = s.DeepCopy()
		s.OwnerReferences = owner
		if err := createOrReplace(ctx, e.Client.CoreV1().Secrets(s.Namespace), s); err != nil {
			undo()
			return fmt.Errorf("create secret %s/%s: %s", s.Namespace, s.Name, red.mask(err.Error()))
		}
		return nil
	}
	gate := inputsGate(b)
	for _, s := range b.Secrets {
		if s == gate {
			continue
		}
		if err := createSecret(s); err != nil {
			return err
		}
	}
	for _, c := range b.ConfigMaps {
		c = c.DeepCopy()
		c.OwnerReferences = owner
		if err := createOrReplace(ctx, e.Client.CoreV1().ConfigMaps(c.Namespace), c); err != nil {
			undo()
			return fmt.Errorf("create configmap %s/%s: %s", c.Namespace, c.Name, red.mask(err.Error()))
		}
	}
	if gate != nil {
		return createSecret(gate)
	}
	return nil
}

// resume lets the Job's controller start the pod of a Job created suspended.
func (e *Executor) resume(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	j, err := e.Client.BatchV1().Jobs(job.Namespace).Patch(ctx, job.Name, types.MergePatchType, []byte(`{"spec":{"suspend":false}}`), metav1.PatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("start job %s/%s: %w", job.Namespace, job.Name, err)
	}
	return j, nil
}

// waitOtherJobs waits until no other Job of job's run is active: a caller that crashed
// during an update leaves its Job running, and a second Job of the same run would race
// with it on the runner's own state and on the saved state directory.
func (e *Executor) waitOtherJobs(ctx context.Context, job *batchv1.Job) error {
	ns, run := job.Namespace, job.Labels[contract.LabelRunID]
	sel := labels.Set{contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: run}.String()
	active := func(j *batchv1.Job) bool {
		if j.Name == job.Name || j.DeletionTimestamp != nil {
			return false
		}
		for _, c := range j.Status.Conditions {
			if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
				return false
			}
		}
		return true
	}
	want, err := labels.Parse(sel)
	if err != nil {
		return err
	}
	sw, release := e.sharedWatches(ns)
	defer release()
	changed := make(chan struct{}, 1)
	stop, err := follow(ctx, sw.jobs, true, func(any, bool) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return fmt.Errorf("wait for the earlier Jobs of run %s to end: %w", run, sw.explain(err))
	}
	defer stop()
	reported := map[string]bool{}
	for {
		none := true
		for _, o := range sw.jobs.GetStore().List() {
			j := o.(*batchv1.Job)
			if !want.Matches(labels.Set(j.Labels)) || !active(j) {
				continue
			}
			none = false
			if !reported[j.Name] {
				reported[j.Name] = true
				e.event("waiting for Job %s/%s, an earlier run of the same resource that is still running, to end", ns, j.Name)
			}
		}
		if none {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for the earlier Jobs of run %s to end: %w", run, sw.explain(ctx.Err()))
		}
	}
}

// supersededJob reports whether another Job of the same run was created after job: then
// job is a kept earlier run, not the one a crashed caller left behind.
func (e *Executor) supersededJob(ctx context.Context, job *batchv1.Job) (bool, error) {
	list, err := e.Client.BatchV1().Jobs(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{
		contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: job.Labels[contract.LabelRunID]}.String()})
	if err != nil {
		return false, fmt.Errorf("list jobs of run %s: %w", job.Labels[contract.LabelRunID], err)
	}
	for _, j := range list.Items {
		if j.Name != job.Name && job.CreationTimestamp.Before(&j.CreationTimestamp) {
			return true, nil
		}
	}
	return false, nil
}

// waitGone waits until a deleted Job has left the API, so one of the same name can be made.
func (e *Executor) waitGone(ctx context.Context, ns, name string) error {
	lw := e.jobsListWatch(ns, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	})
	gone := func(store cache.Store) (bool, error) {
		_, exists, err := store.GetByKey(ns + "/" + name)
		return !exists, err
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &batchv1.Job{}, gone, func(ev watch.Event) (bool, error) {
		j, ok := ev.Object.(*batchv1.Job)
		return ok && j.Name == name && ev.Type == watch.Deleted, nil
	})
	if err != nil {
		return fmt.Errorf("wait for job %s/%s to go: %w", ns, name, err)
	}
	return nil
}

type objectClient[T runtime.Object] interface {
	Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error)
	Update(ctx context.Context, obj T, opts metav1.UpdateOptions) (T, error)
}

// createOrReplace makes a retry after a crash idempotent: the object's name includes the
// spec hash, so an existing one holds the same content.
func createOrReplace[T runtime.Object](ctx context.Context, c objectClient[T], obj T) error {
	_, err := c.Create(ctx, obj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = c.Update(ctx, obj, metav1.UpdateOptions{})
	}
	return err
}

// tellContractVersion sets the sidecar contract version every sidecar of job is told.
func tellContractVersion(job *batchv1.Job, v string) {
	for i := range job.Spec.Template.Spec.InitContainers {
		env := job.Spec.Template.Spec.InitContainers[i].Env
		for j := range env {
			if env[j].Name == contract.EnvContractVersion {
				env[j].Value = v
			}
		}
	}
}

// MissingTarget names what a run of spec needs that does not exist yet: its namespace or
// its service account ("" when both exist, or when the client may not read them). A plan
// preview asks it first: in a configuration that creates them (a containerdriver_runner
// with create_namespace), they exist only once the apply has made them, so the preview waits
// for the apply instead of failing the plan.
func (e *Executor) MissingTarget(ctx context.Context, spec *RunSpec) string {
	ns, sa := spec.Namespace(), serviceAccountOf(spec)
	switch missing, _ := e.missingTarget(ctx, ns, sa); missing {
	case targetNamespace:
		return fmt.Sprintf("namespace %q", ns)
	case targetServiceAccount:
		return fmt.Sprintf("service account %q of namespace %q", sa, ns)
	}
	return ""
}
