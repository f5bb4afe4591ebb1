package bench

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// The per-phase timeline. A tracker watches the bench's namespace through client-go
// informers (pods, Jobs, ConfigMaps) for the whole benchmark and notes, for every pod and
// Job, the moment the API server told it of each change: the Job created and resumed, the
// pod created and scheduled (its PodScheduled condition), each container running and
// terminated (its state), the pod Succeeded, the outputs ConfigMap created, and the Job
// and pod deleted. Those are the moments the API server knew of each step, to the
// millisecond; the API's own timestamps (creationTimestamp, condition and container state
// times) have whole seconds, too coarse for steps of a few hundred milliseconds. The
// kubelet reports container changes in batches (its relist runs every second), so two
// steps reported together show the second as 0 s and its time in the phase before.

// Milestones of a run's pod, in the order they happen; the containers' come from the pod
// spec between "pod scheduled" and "outputs written".
const (
	msCommandStart  = "command started"
	msJobCreated    = "Job created"
	msJobResumed    = "Job resumed"
	msPodCreated    = "pod created"
	msPodScheduled  = "pod scheduled"
	msOutputs       = "outputs written (ConfigMap created)"
	msSucceeded     = "pod Succeeded"
	msCleanupStart  = "cleanup started (Job or pod deleting)"
	msCleanupDone   = "cleanup done (Job and pod gone)"
	msCommandEnd    = "command ended"
	suffixStarted   = " started"
	suffixEnded     = " ended"
	labelBenchSet   = "bench-set"
	labelJobNameK8s = batchv1.JobNameLabel
)

type podTrace struct {
	name, job, set, action string
	containers             []string // init containers then containers, in spec order
	sidecars               map[string]bool
	seen                   map[string]time.Time // milestone -> first seen
}

type jobTrace struct {
	uid  types.UID
	seen map[string]time.Time
}

// tracker records the milestones of the namespace's pods and Jobs.
type tracker struct {
	mu      sync.Mutex
	pods    map[types.UID]*podTrace
	jobs    map[string]*jobTrace // by name: a run's Job names are unique per spec and run
	outputs map[string]time.Time // job name -> outputs ConfigMap first seen
	// events are the milestones the kubelet's events tell, by pod UID: "Started container
	// X" is posted as soon as the runtime started X, before the kubelet's next status
	// report says so.
	events   map[types.UID]map[string]time.Time
	planJobs map[types.UID]time.Time
	stop     chan struct{}
	factory  informers.SharedInformerFactory
}

func startTracker(c kubernetes.Interface, ns string) (*tracker, error) {
	tr := &tracker{pods: map[types.UID]*podTrace{}, jobs: map[string]*jobTrace{}, outputs: map[string]time.Time{},
		planJobs: map[types.UID]time.Time{}, events: map[types.UID]map[string]time.Time{}, stop: make(chan struct{})}
	tr.factory = informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(ns))
	handlers := []struct {
		inf cache.SharedIndexInformer
		on  func(obj any, deleted bool)
	}{
		{tr.factory.Core().V1().Pods().Informer(), tr.onPod},
		{tr.factory.Batch().V1().Jobs().Informer(), tr.onJob},
		{tr.factory.Core().V1().ConfigMaps().Informer(), tr.onConfigMap},
		{tr.factory.Core().V1().Events().Informer(), tr.onEvent},
	}
	for _, h := range handlers {
		on := h.on
		if _, err := h.inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { on(obj, false) },
			UpdateFunc: func(_, obj any) { on(obj, false) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				on(obj, true)
			},
		}); err != nil {
			return nil, err
		}
	}
	tr.factory.Start(tr.stop)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for typ, ok := range tr.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, &syncError{typ.String()}
		}
	}
	return tr, nil
}

type syncError struct{ typ string }

func (e *syncError) Error() string {
	return "the informer of " + e.typ + " did not sync within a minute"
}

func (tr *tracker) close() {
	close(tr.stop)
	tr.factory.Shutdown()
}

func note(m map[string]time.Time, k string, now time.Time) {
	if _, ok := m[k]; !ok {
		m[k] = now
	}
}

func (tr *tracker) onPod(obj any, deleted bool) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	pt := tr.pods[p.UID]
	if pt == nil {
		pt = &podTrace{name: p.Name, job: p.Labels[labelJobNameK8s], set: p.Labels[labelBenchSet],
			action: p.Labels[contract.LabelAction], sidecars: map[string]bool{}, seen: map[string]time.Time{}}
		for _, c := range p.Spec.InitContainers {
			pt.containers = append(pt.containers, c.Name)
			if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
				pt.sidecars[c.Name] = true
			}
		}
		for _, c := range p.Spec.Containers {
			pt.containers = append(pt.containers, c.Name)
		}
		tr.pods[p.UID] = pt
	}
	note(pt.seen, msPodCreated, now)
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
			note(pt.seen, msPodScheduled, now)
		}
	}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			note(pt.seen, cs.Name+suffixStarted, now)
		}
		if cs.State.Terminated != nil {
			note(pt.seen, cs.Name+suffixEnded, now)
		}
	}
	if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		note(pt.seen, msSucceeded, now)
	}
	if p.DeletionTimestamp != nil || deleted {
		note(pt.seen, "pod deleting", now)
	}
	if deleted {
		note(pt.seen, "pod gone", now)
	}
}

func (tr *tracker) onJob(obj any, deleted bool) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	jt := tr.jobs[j.Name]
	if jt == nil || jt.uid != j.UID {
		// A Job of a name seen before (deleted since) starts a trace of its own.
		jt = &jobTrace{uid: j.UID, seen: map[string]time.Time{}}
		tr.jobs[j.Name] = jt
	}
	note(jt.seen, msJobCreated, now)
	if j.Spec.Suspend == nil || !*j.Spec.Suspend {
		note(jt.seen, msJobResumed, now)
	}
	if j.DeletionTimestamp != nil || deleted {
		note(jt.seen, "Job deleting", now)
	}
	if deleted {
		note(jt.seen, "Job gone", now)
	}
	if j.Labels[contract.LabelAction] == "plan" {
		note2(tr.planJobs, j.UID, now)
	}
}

func note2(m map[types.UID]time.Time, k types.UID, now time.Time) {
	if _, ok := m[k]; !ok {
		m[k] = now
	}
}

func (tr *tracker) onConfigMap(obj any, _ bool) {
	cm, ok := obj.(*corev1.ConfigMap)
	if !ok {
		return
	}
	job := cm.Labels[contract.LabelJob]
	if job == "" || !strings.HasPrefix(cm.Name, contract.OutputsObjectName(job)) {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if _, ok := tr.outputs[job]; !ok {
		tr.outputs[job] = time.Now()
	}
}

func (tr *tracker) onEvent(obj any, deleted bool) {
	e, ok := obj.(*corev1.Event)
	if !ok || deleted || e.InvolvedObject.Kind != "Pod" || e.Reason != "Started" {
		return
	}
	name, ok := strings.CutPrefix(e.Message, "Started container ")
	if !ok {
		return
	}
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	m := tr.events[e.InvolvedObject.UID]
	if m == nil {
		m = map[string]time.Time{}
		tr.events[e.InvolvedObject.UID] = m
	}
	note(m, name+suffixStarted, now)
}

// lastSucceeded is when the informer saw the last of the n pods of a bench set end
// (Succeeded or Failed); it waits up to 10 s for the informer to see all n, which may be a
// moment after kubectl wait read them.
func (tr *tracker) lastSucceeded(set string, n int) (time.Time, bool) {
	var last time.Time
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) {
			var ended int
			last, ended = tr.lastOfSet(set)
			return ended >= n, nil
		})
	return last, err == nil
}

// lastOfSet is the latest end of the pods of a bench set, and how many of them ended.
func (tr *tracker) lastOfSet(set string) (last time.Time, ended int) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, pt := range tr.pods {
		t, ok := pt.seen[msSucceeded]
		if pt.set != set || !ok {
			continue
		}
		ended++
		if t.After(last) {
			last = t
		}
	}
	return last, ended
}

// planJobsSince is the number of plan Jobs (containerdriver.io/action=plan) created since t.
func (tr *tracker) planJobsSince(t time.Time) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, at := range tr.planJobs {
		if !at.Before(t) {
			n++
		}
	}
	return n
}

// milestones returns, for every pod created in [start, end] that sel accepts, its
// milestones in order with their times, clamped so that none is before the one before it
// (a step the API learned of early, e.g. the outputs written before the kubelet reported
// the runner's end, then takes 0 s, and the phases add up to the command's duration).
func (tr *tracker) milestones(start, end time.Time, sel func(*podTrace) bool) [][]milestone {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out [][]milestone
	for uid, pt := range tr.pods {
		created := pt.seen[msPodCreated]
		if created.Before(start) || created.After(end) || !sel(pt) {
			continue
		}
		seen := map[string]time.Time{}
		for k, v := range pt.seen {
			seen[k] = v
		}
		// A container started when the first of its event and the pod's status said so.
		for k, v := range tr.events[uid] {
			if t, ok := seen[k]; !ok || v.Before(t) {
				seen[k] = v
			}
		}
		order := []string{msCommandStart}
		if pt.job != "" {
			if jt := tr.jobs[pt.job]; jt != nil {
				for k, v := range jt.seen {
					seen[k] = v
				}
			}
			order = append(order, msJobCreated, msJobResumed)
		}
		order = append(order, msPodCreated, msPodScheduled)
		var later []string // the native sidecars end after the runner
		for _, c := range pt.containers {
			order = append(order, c+suffixStarted)
			if pt.sidecars[c] {
				later = append(later, c+suffixEnded)
				continue
			}
			order = append(order, c+suffixEnded)
		}
		if pt.job != "" {
			if t, ok := tr.outputs[pt.job]; ok {
				seen[msOutputs] = t
			}
			order = append(order, msOutputs)
		}
		order = append(order, later...)
		order = append(order, msSucceeded)
		if pt.job != "" {
			// Cleanup: the first of the Job and the pod deleting, then both gone.
			if t, ok := first(seen, "Job deleting", "pod deleting"); ok && t.Before(end) {
				seen[msCleanupStart] = t
			}
			jg, okj := seen["Job gone"]
			pg, okp := seen["pod gone"]
			if okj && okp && !jg.After(end) && !pg.After(end) {
				seen[msCleanupDone] = later2(jg, pg)
			}
			order = append(order, msCleanupStart, msCleanupDone)
		}
		seen[msCommandStart], seen[msCommandEnd] = start, end
		order = append(order, msCommandEnd)
		var ms []milestone
		prev := start
		for _, name := range order {
			t, ok := seen[name]
			if !ok {
				continue
			}
			if t.Before(prev) {
				t = prev
			}
			ms = append(ms, milestone{name, t})
			prev = t
		}
		out = append(out, ms)
	}
	return out
}

func first(m map[string]time.Time, keys ...string) (time.Time, bool) {
	var best time.Time
	found := false
	for _, k := range keys {
		if t, ok := m[k]; ok && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	return best, found
}

func later2(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

type milestone struct {
	name string
	at   time.Time
}

// timeline is what results keep of the milestones of a row's pods, over its rounds: for
// each milestone the phase that ends there (seconds since the milestone before it) and
// when it was reached (seconds since the command started), one value per pod and round.
type timeline struct {
	Order  []string             // milestones in order
	Phase  map[string][]float64 // milestone -> seconds since the one before it
	Offset map[string][]float64 // milestone -> seconds since the command started
	Pods   int                  // pods of the last round
}

func (tl *timeline) add(all [][]milestone) {
	if tl.Phase == nil {
		tl.Phase, tl.Offset = map[string][]float64{}, map[string][]float64{}
	}
	tl.Pods = len(all)
	for _, ms := range all {
		for i, m := range ms {
			if !slices.Contains(tl.Order, m.name) {
				// Insert after the milestone before it (the variants add containers).
				at := len(tl.Order)
				if i > 0 {
					if j := slices.Index(tl.Order, ms[i-1].name); j >= 0 {
						at = j + 1
					}
				}
				tl.Order = slices.Insert(tl.Order, at, m.name)
			}
			if i > 0 {
				tl.Phase[m.name] = append(tl.Phase[m.name], ms3(m.at.Sub(ms[i-1].at)))
			}
			tl.Offset[m.name] = append(tl.Offset[m.name], ms3(m.at.Sub(ms[0].at)))
		}
	}
}

// ms3 is d in seconds, to the millisecond (what results.json keeps).
func ms3(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
