package containerdriver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/ptr"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/state"
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
}

// failure reasons that will not recover by waiting.
var unrecoverableWaiting = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"InvalidImageName":           true,
	"ErrImageNeverPull":          true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
	"RunContainerError":          true,
}

// Run runs spec with action (contract.ActionCreate or contract.ActionDestroy) and returns
// its result. A failed run returns a *RunError. A second call with the same RunID, action
// and spec re-attaches to the Job the first one created instead of starting another.
// The Job and every object created for it are deleted once its outputs are read, unless
// spec.KeepResources is set.
func (e *Executor) Run(ctx context.Context, spec *RunSpec, action string) (*Result, error) {
	if spec.WriteOnlyFromCluster && action == contract.ActionDestroy {
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
	if err := e.preflight(ctx, spec, ns, name, action); err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		// The cluster stops the run too when the caller gives up.
		if s := int64(time.Until(dl).Seconds()); s > 0 {
			job.Spec.ActiveDeadlineSeconds = ptr.To(s)
		}
	}

	if spec.WriteOnly != nil && action == contract.ActionCreate {
		if err := e.prepareWriteOnly(ctx, spec); err != nil { // writeonly.go
			return nil, err
		}
	}
	created, err := e.ensureJob(ctx, built)
	if err != nil {
		return nil, err
	}
	if created != nil {
		e.event("created Job %s/%s (%s)", ns, name, action)
	}

	res, runErr := e.wait(ctx, spec, built, action, red)
	if runErr == nil && action == contract.ActionDestroy && spec.State != nil {
		// What was destroyed has no state left to keep.
		st := &state.Store{Client: e.Client, Namespace: ns, RunID: spec.RunID}
		if err := st.Delete(ctx); err != nil {
			runErr = fmt.Errorf("destroy succeeded but deleting its state failed: %w", err)
		}
	}
	if runErr == nil && action == contract.ActionDestroy {
		runErr = e.forgetWriteOnly(ctx, spec) // writeonly.go
	}
	if !spec.KeepResources {
		// The caller's context may be done (timeout); cleanup still has to happen.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := e.Cleanup(cctx, ns, name); err != nil && runErr == nil {
			runErr = fmt.Errorf("run succeeded but cleaning up job %s/%s failed: %w", ns, name, err)
		}
	} else {
		var re *RunError
		if errors.As(runErr, &re) {
			re.Kept = true
		}
	}
	if runErr != nil {
		return nil, runErr
	}
	return res, nil
}

func (e *Executor) event(format string, a ...any) {
	if e.Observer != nil {
		e.Observer.Event(fmt.Sprintf(format, a...))
	}
}

// preflight turns the most common setup mistakes into clear errors before anything is
// created: a missing namespace or service account.
func (e *Executor) preflight(ctx context.Context, spec *RunSpec, ns, name, action string) error {
	fail := func(reason, msg string) error {
		return &RunError{Namespace: ns, JobName: name, Action: action, Reason: reason, Message: msg}
	}
	if _, err := e.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return fail("NamespaceNotFound", fmt.Sprintf("namespace %q does not exist: create it (for example with a containerdriver_runner that has create_namespace = true) or set job.namespace", ns))
	} else if err != nil && !apierrors.IsForbidden(err) {
		return fmt.Errorf("look up namespace %s: %w", ns, err)
	}
	sa := spec.Job.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	if _, err := e.Client.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return fail("ServiceAccountNotFound", fmt.Sprintf("service account %q does not exist in namespace %q: create it with a Role allowing create on configmaps and secrets (a containerdriver_runner with create_service_account = true does that), or set job.service_account", sa, ns))
	} else if err != nil && !apierrors.IsForbidden(err) {
		return fmt.Errorf("look up service account %s/%s: %w", ns, sa, err)
	}
	return nil
}

// ensureJob creates the objects the pod reads, then the Job. An existing Job of the same
// name is this very run (the name hashes the run id, the action and the spec), so it is
// re-attached to. It returns the Job when it created one, nil when it re-attached.
func (e *Executor) ensureJob(ctx context.Context, b *Built) (*batchv1.Job, error) {
	jobs := e.Client.BatchV1().Jobs(b.Job.Namespace)
	if existing, err := jobs.Get(ctx, b.Job.Name, metav1.GetOptions{}); err == nil {
		if existing.Labels[contract.LabelManagedBy] != contract.ManagedByValue {
			return nil, fmt.Errorf("job %s/%s exists and is not managed by containerdriver", b.Job.Namespace, b.Job.Name)
		}
		stale, err := e.supersededJob(ctx, existing)
		if err == nil && !stale {
			// The name leaves the secret values out (secretcheck.go).
			stale, err = e.secretsChanged(ctx, b)
		}
		if err != nil {
			return nil, err
		}
		if !stale {
			e.event("re-attached to Job %s/%s", b.Job.Namespace, b.Job.Name)
			return nil, nil
		}
		// A Job kept from an earlier run (keep_job) with the same inputs: a later run of
		// the resource came after it, so its result is outdated. Run again.
		e.event("Job %s/%s is a kept earlier run; replacing it", b.Job.Namespace, b.Job.Name)
		if err := e.Cleanup(ctx, b.Job.Namespace, b.Job.Name); err != nil {
			return nil, fmt.Errorf("remove kept job %s/%s: %w", b.Job.Namespace, b.Job.Name, err)
		}
		if err := e.waitGone(ctx, b.Job.Namespace, b.Job.Name); err != nil {
			return nil, err
		}
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("look up job %s/%s: %w", b.Job.Namespace, b.Job.Name, err)
	}
	for _, s := range b.Secrets {
		if err := createOrReplace(ctx, e.Client.CoreV1().Secrets(s.Namespace), s); err != nil {
			return nil, fmt.Errorf("create secret %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	for _, c := range b.ConfigMaps {
		if err := createOrReplace(ctx, e.Client.CoreV1().ConfigMaps(c.Namespace), c); err != nil {
			return nil, fmt.Errorf("create configmap %s/%s: %w", c.Namespace, c.Name, err)
		}
	}
	created, err := jobs.Create(ctx, b.Job, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		e.event("re-attached to Job %s/%s", b.Job.Namespace, b.Job.Name)
		return nil, nil
	}
	if err != nil {
		// The API refused the Job (for example a pod_template that makes it invalid): the
		// objects made for it would be orphans.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = e.Cleanup(cctx, b.Job.Namespace, b.Job.Name)
		return nil, fmt.Errorf("create job %s/%s: %w", b.Job.Namespace, b.Job.Name, err)
	}
	// Owner references make the inputs go with the Job even when explicit cleanup is skipped.
	owner := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: created.Name, UID: created.UID}}
	patch := ownerPatch(owner)
	for _, s := range b.Secrets {
		_, _ = e.Client.CoreV1().Secrets(s.Namespace).Patch(ctx, s.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	for _, c := range b.ConfigMaps {
		_, _ = e.Client.CoreV1().ConfigMaps(c.Namespace).Patch(ctx, c.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	return created, nil
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
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	lw := listWatch(func(o *metav1.ListOptions) { o.FieldSelector = sel },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return e.Client.BatchV1().Jobs(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return e.Client.BatchV1().Jobs(ns).Watch(ctx, o)
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

func ownerPatch(refs []metav1.OwnerReference) []byte {
	r := refs[0]
	return []byte(fmt.Sprintf(`{"metadata":{"ownerReferences":[{"apiVersion":%q,"kind":%q,"name":%q,"uid":%q}]}}`, r.APIVersion, r.Kind, r.Name, r.UID))
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

// wait watches the Job's pod until it ends, failing fast on states that will not recover,
// then reads the outputs.
func (e *Executor) wait(ctx context.Context, spec *RunSpec, b *Built, action string, red *redactor) (*Result, error) {
	ns, name := b.Job.Namespace, b.Job.Name
	base := RunError{Namespace: ns, JobName: name, Action: action}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// The Job and its events tell what the pod cannot: a pod that was never created (for
	// example rejected by Pod Security admission) or a Job that ran out of time.
	go e.watchJob(wctx, cancel, base)

	var logs sync.WaitGroup
	streaming := map[string]bool{}
	lastPhase := corev1.PodPhase("")
	lastState := map[string]string{}
	var final *corev1.Pod
	var fast *RunError

	podSel := labels.Set{batchv1.JobNameLabel: name}.String()
	podLW := listWatch(func(o *metav1.ListOptions) { o.LabelSelector = podSel },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return e.Client.CoreV1().Pods(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return e.Client.CoreV1().Pods(ns).Watch(ctx, o)
		})
	_, err := watchtools.UntilWithSync(wctx, podLW, &corev1.Pod{}, nil, func(ev watch.Event) (bool, error) {
		pod, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted {
			return false, nil
		}
		if pod.Status.Phase != lastPhase {
			lastPhase = pod.Status.Phase
			e.event("pod %s: %s", pod.Name, pod.Status.Phase)
		}
		for _, cs := range allStatuses(pod) {
			st := describeState(cs.State)
			if lastState[cs.Name] != st {
				lastState[cs.Name] = st
				e.event("container %s: %s", cs.Name, st)
			}
			if (cs.State.Running != nil || cs.State.Terminated != nil) && e.Observer != nil && cs.Name == contract.ContainerRunner && !streaming[cs.Name] {
				streaming[cs.Name] = true
				logs.Add(1)
				go func(pod, c string) {
					defer logs.Done()
					e.streamLogs(wctx, ns, pod, c, red)
				}(pod.Name, cs.Name)
			}
			if w := cs.State.Waiting; w != nil && unrecoverableWaiting[w.Reason] {
				fast = &RunError{Container: cs.Name, Reason: w.Reason, Message: red.mask(w.Message)}
				final = pod
				return true, nil
			}
		}
		for _, c := range pod.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				fast = &RunError{Reason: c.Reason, Message: c.Message}
				final = pod
				return true, nil
			}
		}
		if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			final = pod
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		if cause := context.Cause(wctx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			var re *RunError
			if errors.As(cause, &re) {
				re.Logs = e.logTails(context.WithoutCancel(ctx), ns, name, red)
			}
			return nil, cause
		}
		if ctx.Err() != nil {
			re := base
			re.Reason = "Timeout"
			re.Message = fmt.Sprintf("the run did not finish in time (%v); the last state of the pod is below", ctx.Err())
			re.Logs = e.logTails(context.WithoutCancel(ctx), ns, name, red)
			return nil, &re
		}
		return nil, fmt.Errorf("watch pod of job %s/%s: %w", ns, name, err)
	}
	// Let the log stream drain the runner's last lines, but never wait long for it.
	done := make(chan struct{})
	go func() { logs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
	}
	cancel(nil)

	if fast != nil {
		re := base
		re.Container, re.Reason, re.Message = fast.Container, fast.Reason, fast.Message
		re.Logs = e.logTails(ctx, ns, name, red)
		return nil, &re
	}
	return e.harvest(ctx, spec, final, base, red)
}

// listWatch is a ListWatch whose list and watch calls both get the same selector.
func listWatch(sel func(*metav1.ListOptions), list func(context.Context, metav1.ListOptions) (runtime.Object, error), w func(context.Context, metav1.ListOptions) (watch.Interface, error)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			sel(&o)
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			sel(&o)
			return w(ctx, o)
		},
	}
}

// watchJob cancels the wait with a RunError when the Job fails or its pod cannot be created.
func (e *Executor) watchJob(ctx context.Context, cancel context.CancelCauseFunc, base RunError) {
	ns, name := base.Namespace, base.JobName
	sel := fields.OneTermEqualSelector("involvedObject.name", name).String()
	evLW := listWatch(func(o *metav1.ListOptions) { o.FieldSelector = sel },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return e.Client.CoreV1().Events(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return e.Client.CoreV1().Events(ns).Watch(ctx, o)
		})
	go func() {
		_, _ = watchtools.UntilWithSync(ctx, evLW, &corev1.Event{}, nil, func(ev watch.Event) (bool, error) {
			if x, ok := ev.Object.(*corev1.Event); ok && x.Reason == "FailedCreate" && x.InvolvedObject.Kind == "Job" {
				re := base
				re.Reason = "FailedCreate"
				re.Message = "the Job's pod could not be created: " + x.Message
				cancel(&re)
				return true, nil
			}
			return false, nil
		})
	}()
	jobSel := fields.OneTermEqualSelector("metadata.name", name).String()
	jobLW := listWatch(func(o *metav1.ListOptions) { o.FieldSelector = jobSel },
		func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return e.Client.BatchV1().Jobs(ns).List(ctx, o)
		},
		func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return e.Client.BatchV1().Jobs(ns).Watch(ctx, o)
		})
	_, _ = watchtools.UntilWithSync(ctx, jobLW, &batchv1.Job{}, nil, func(ev watch.Event) (bool, error) {
		j, ok := ev.Object.(*batchv1.Job)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			re := base
			re.Reason = "JobDeleted"
			re.Message = "the Job was deleted while the run was in progress"
			cancel(&re)
			return true, nil
		}
		for _, c := range j.Status.Conditions {
			// BackoffLimitExceeded follows a failed pod, which the pod watch reports with
			// more detail; only a deadline can fail a Job whose pod is still running.
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == batchv1.JobReasonDeadlineExceeded {
				re := base
				re.Reason = c.Reason
				re.Message = c.Message
				cancel(&re)
				return true, nil
			}
		}
		return false, nil
	})
}

// harvest reads what the run left: exit codes from the pod, outputs from the objects
// outputs-fetcher wrote.
func (e *Executor) harvest(ctx context.Context, spec *RunSpec, pod *corev1.Pod, base RunError, red *redactor) (*Result, error) {
	ns, name := base.Namespace, base.JobName
	res := &Result{JobName: name, Namespace: ns}
	var runnerTerm *corev1.ContainerStateTerminated
	for _, cs := range pod.Status.ContainerStatuses {
		if cs.Name == contract.ContainerRunner {
			res.Image, res.ImageID = cs.Image, cs.ImageID
			runnerTerm = cs.State.Terminated
			res.Runner = runnerStatus(cs)
		}
	}
	sel := labels.Set{contract.LabelJob: name}.String()
	cms, err := e.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{contract.LabelJob: name, contract.LabelRole: contract.RoleOutputs}.String()})
	if err != nil {
		return nil, fmt.Errorf("read outputs of job %s/%s (%s): %w", ns, name, sel, err)
	}
	secrets, err := e.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{contract.LabelJob: name, contract.LabelRole: contract.RoleSecretOutputs}.String()})
	if err != nil {
		return nil, fmt.Errorf("read secret outputs of job %s/%s: %w", ns, name, err)
	}
	var h *outputs.Harvest
	var harvestErr error
	if len(cms.Items) == 0 && len(secrets.Items) == 0 {
		harvestErr = errors.New("outputs-fetcher stored no outputs (see its log)")
	} else {
		h, harvestErr = outputs.Assemble(cms.Items, secrets.Items)
	}
	if h != nil {
		res.GitCommit = strings.TrimSpace(h.GitCommit)
		res.StateBytes = h.StateBytes
	}

	// Which container failed first decides the error: an init container, else the runner.
	if failed := firstFailure(pod); failed != nil || pod.Status.Phase == corev1.PodFailed {
		re := base
		if failed != nil {
			t := failed.State.Terminated
			re.Container, re.Reason, re.ExitCode = failed.Name, t.Reason, ptr.To(t.ExitCode)
			re.Message = red.mask(strings.TrimSpace(t.Message))
			if failed.Name == contract.ContainerRunner {
				res.ExitCode = t.ExitCode
			}
		} else {
			re.Reason, re.Message = pod.Status.Reason, pod.Status.Message
		}
		if h != nil {
			re.ErrorFile = red.mask(h.ErrorText)
			// The termination message is the log tail (FallbackToLogsOnError); with an
			// error file, it only repeats the log section.
			if re.ErrorFile != "" && failed != nil && failed.Name == contract.ContainerRunner {
				re.Message = ""
			}
		}
		re.Logs = e.logTails(ctx, ns, name, red)
		return nil, &re
	}
	if runnerTerm != nil {
		res.ExitCode = runnerTerm.ExitCode
	}
	if harvestErr != nil {
		re := base
		re.Container, re.Reason, re.Message = contract.ContainerOutputsFetcher, "OutputsMissing", harvestErr.Error()
		re.Logs = e.logTails(ctx, ns, name, red)
		return nil, &re
	}
	if h.StateError != "" {
		re := base
		re.Container, re.Reason, re.Message = contract.ContainerOutputsFetcher, "StateNotSaved", h.StateError
		re.Logs = e.logTails(ctx, ns, name, red)
		return nil, &re
	}
	if len(h.Problems) > 0 {
		re := base
		re.Container, re.Reason = contract.ContainerRunner, "InvalidOutputs"
		re.Message = "the runner's output files break the contract (OUTPUTS_FILE and SECRET_OUTPUTS_FILE must hold JSON objects): " + strings.Join(h.Problems, "; ")
		re.ErrorFile = red.mask(h.ErrorText)
		re.Logs = e.logTails(ctx, ns, name, red)
		return nil, &re
	}
	if res.Outputs, err = parseOrEmpty(contract.EnvOutputsFile, h.Outputs); err != nil {
		return nil, &RunError{Namespace: ns, JobName: name, Action: base.Action, Container: contract.ContainerRunner, Reason: "InvalidOutputs", Message: err.Error()}
	}
	if res.SecretOutputs, err = parseOrEmpty(contract.EnvSecretOutputsFile, h.SecretOutputs); err != nil {
		return nil, &RunError{Namespace: ns, JobName: name, Action: base.Action, Container: contract.ContainerRunner, Reason: "InvalidOutputs", Message: err.Error()}
	}
	if spec.ManifestsOutput != "" {
		res.Manifests, err = manifests(spec.ManifestsOutput, res.Outputs, res.SecretOutputs)
		if err != nil {
			return nil, &RunError{Namespace: ns, JobName: name, Action: base.Action, Container: contract.ContainerRunner, Reason: "InvalidManifests", Message: err.Error()}
		}
	}
	// runner_status is stored in plain state: masked, secret outputs included.
	res.Runner.Message = red.withSecretOutputs(res.SecretOutputs).mask(res.Runner.Message)
	e.event("run %s of Job %s/%s succeeded: %d outputs, %d secret outputs", base.Action, ns, name, len(res.Outputs), len(res.SecretOutputs))
	return res, nil
}

func runnerStatus(cs corev1.ContainerStatus) RunnerStatus {
	st := RunnerStatus{Image: cs.Image, ImageID: cs.ImageID}
	switch {
	case cs.State.Terminated != nil:
		t := cs.State.Terminated
		st.State, st.Reason, st.Message, st.ExitCode = "terminated", t.Reason, t.Message, t.ExitCode
	case cs.State.Running != nil:
		st.State = "running"
	case cs.State.Waiting != nil:
		st.State, st.Reason, st.Message = "waiting", cs.State.Waiting.Reason, cs.State.Waiting.Message
	}
	return st
}

func parseOrEmpty(file string, b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return map[string]any{}, nil
	}
	return outputs.ParseObject(file, b)
}

// manifests is the manifests_output property of the outputs, followed by that of the
// secret outputs, as the specification says.
func manifests(prop string, out, secret map[string]any) ([]any, error) {
	list := []any{}
	for _, src := range []struct {
		file string
		m    map[string]any
	}{{contract.EnvOutputsFile, out}, {contract.EnvSecretOutputsFile, secret}} {
		v, ok := src.m[prop]
		if !ok || v == nil {
			continue
		}
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("manifests_output %q in %s is not a list of manifest locations", prop, src.file)
		}
		list = append(list, l...)
	}
	return list, nil
}

// firstFailure is the first container, in start order, that ended with a non-zero code.
func firstFailure(pod *corev1.Pod) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			if cs.Name == contract.ContainerOutputsFetcher {
				continue // a sidecar killed at the end is not a failure of the run
			}
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				return cs
			}
		}
	}
	return nil
}

func allStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

func describeState(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Terminated != nil:
		return fmt.Sprintf("terminated (%s, exit code %d)", s.Terminated.Reason, s.Terminated.ExitCode)
	case s.Waiting != nil:
		return "waiting (" + s.Waiting.Reason + ")"
	}
	return "unknown"
}

func (e *Executor) streamLogs(ctx context.Context, ns, pod, container string, red *redactor) {
	rc, err := e.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Follow: true}).Stream(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		e.Observer.LogLine(container, red.mask(sc.Text()))
	}
}

// logTails reads the last lines of every container of the Job's pod that ran.
func (e *Executor) logTails(ctx context.Context, ns, job string, red *redactor) map[string]string {
	n := e.LogTailLines
	if n <= 0 {
		n = 30
	}
	pods, err := e.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job}.String()})
	if err != nil || len(pods.Items) == 0 {
		return nil
	}
	pod := pods.Items[0]
	out := map[string]string{}
	for _, cs := range allStatuses(&pod) {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			continue
		}
		b, err := e.Client.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: cs.Name, TailLines: ptr.To(n)}).DoRaw(ctx)
		if err != nil {
			continue
		}
		out[cs.Name] = red.mask(string(b))
	}
	return out
}

// ForceCleanup removes everything a run id has in its namespace without running the
// destroy action: every Job of the run, their objects and the run's saved state. It is
// for a runner that can no longer succeed; what the runner created outside the cluster
// is left as it is.
func (e *Executor) ForceCleanup(ctx context.Context, spec *RunSpec) error {
	ns := spec.Namespace()
	jobs, err := e.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{
		contract.LabelManagedBy: contract.ManagedByValue, contract.LabelRunID: runLabel(spec.RunID)}.String()})
	if err != nil {
		return fmt.Errorf("list jobs of run %s: %w", spec.RunID, err)
	}
	var errs []error
	for _, j := range jobs.Items {
		if err := e.Cleanup(ctx, ns, j.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := (&state.Store{Client: e.Client, Namespace: ns, RunID: spec.RunID}).Delete(ctx); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, e.forgetWriteOnly(ctx, spec))
	return errors.Join(errs...)
}

// Cleanup deletes a Job, its pod and every object created for it (inputs and outputs).
func (e *Executor) Cleanup(ctx context.Context, ns, job string) error {
	var errs []error
	err := e.Client.BatchV1().Jobs(ns).Delete(ctx, job, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)})
	if err != nil && !apierrors.IsNotFound(err) {
		errs = append(errs, err)
	}
	// List and delete one by one rather than DeleteCollection: it needs only the list and
	// delete verbs a provider's identity usually has.
	sel := metav1.ListOptions{LabelSelector: labels.Set{contract.LabelJob: job}.String()}
	if list, err := e.Client.CoreV1().Secrets(ns).List(ctx, sel); err != nil {
		errs = append(errs, err)
	} else {
		for _, o := range list.Items {
			if err := e.Client.CoreV1().Secrets(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if list, err := e.Client.CoreV1().ConfigMaps(ns).List(ctx, sel); err != nil {
		errs = append(errs, err)
	} else {
		for _, o := range list.Items {
			if err := e.Client.CoreV1().ConfigMaps(ns).Delete(ctx, o.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	// Pods go with the Job in the background; delete them now so the namespace is empty
	// when Run returns.
	podSel := metav1.ListOptions{LabelSelector: labels.Set{batchv1.JobNameLabel: job}.String()}
	if list, err := e.Client.CoreV1().Pods(ns).List(ctx, podSel); err == nil {
		for _, o := range list.Items {
			if err := e.Client.CoreV1().Pods(ns).Delete(ctx, o.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
