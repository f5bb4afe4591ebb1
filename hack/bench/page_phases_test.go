package bench

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// The page's sections on the timeline, the plan preview and issue 21's targets.

// manyTarget is issue 21's target for n runs in one apply against n bare pods.
func manyTarget(n int) string {
	if n >= 50 {
		return "1.15x"
	}
	return "1.30x"
}

// rate is the median API request rate of a row's commands (requests per second).
func (r *results) rate(row string) string {
	var xs []float64
	for _, c := range r.Requests[row] {
		if c.Seconds > 0 {
			xs = append(xs, float64(c.total())/c.Seconds)
		}
	}
	if len(xs) == 0 {
		return "not measured"
	}
	m, _, _ := stats(xs)
	return fmt.Sprintf("%.1f/s", m)
}

// throttle is what client-side throttling held back in the last command of a row.
func (r *results) throttle(row string) string {
	cs := r.Requests[row]
	if len(cs) == 0 {
		return "not measured"
	}
	l := cs[len(cs)-1]
	return fmt.Sprintf("%d (%.2f s)", l.Throttled, l.ThrottledSeconds)
}

func (r *results) rss(row string) string {
	if k := r.PeakRSSByRow[row]; k > 0 {
		return fmt.Sprintf("%.0f MiB", float64(k)/1024)
	}
	return "not measured"
}

// p90 of xs (the value 90% of them do not exceed).
func p90(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[(len(s)*9+9)/10-1]
}

// from is the milestone before m in tl's order (the phase's start).
func (tl *timeline) from(m string) string {
	i := slices.Index(tl.Order, m)
	if i <= 0 {
		return ""
	}
	return tl.Order[i-1]
}

func (r *results) timelines(p func(string, ...any)) {
	if len(r.Timelines) == 0 {
		return
	}
	p("\n## Where the time goes\n\nEach phase ends at a milestone and starts at the one before it. The times are the moments the " +
		"API server told the benchmark (client-go informers on pods, Jobs and ConfigMaps of the namespace) of each change: the Job " +
		"created and resumed (`spec.suspend`), the pod created, its `PodScheduled` condition, each container's state " +
		"running and terminated, the outputs ConfigMap created, the pod `Succeeded`, the Job and pod deleting and gone, and the " +
		"kubelet's `Started container` events (posted as soon as the runtime started a container: a container started at the first " +
		"of its event and its status). The " +
		"API's own timestamps have whole seconds, too coarse for these phases; the informers see a change within " +
		"milliseconds. The kubelet reports container changes in batches (its relist runs every second), so a step it " +
		"reported together with the one before reads 0 s and its time is in the phase before. Phases that the API learned " +
		"of out of order (the outputs ConfigMap before the kubelet reported the runner's end) are clamped to 0 s, so that the phases " +
		"of a pod add up to the command's duration. `command started` and `command ended` are the benchmark's own clock around the " +
		"`terraform` or `kubectl` command.\n\n")
	single := func(title, runRow, podRow string) {
		tl, pod := r.Timelines[runRow], r.Timelines[podRow]
		if tl == nil {
			return
		}
		p("### %s\n\n| phase: from | to | run: median | share | bare pod: from | median |\n|---|---|---|---|---|---|\n", title)
		total := 0.0
		for _, m := range tl.Order[1:] {
			med, _, _ := stats(tl.Phase[m])
			total += med
		}
		for _, m := range tl.Order[1:] {
			med, _, _ := stats(tl.Phase[m])
			pf, pm := "", ""
			if pod != nil && len(pod.Phase[m]) > 0 {
				x, _, _ := stats(pod.Phase[m])
				pf, pm = pod.from(m), fmt.Sprintf("%.2f s", x)
			}
			p("| %s | %s | %.2f s | %.0f%% | %s | %s |\n", tl.from(m), m, med, 100*med/max(total, 1e-9), pf, pm)
		}
		p("| | **sum of the medians** | **%.2f s** | | | %s |\n\n", total, podTotal(pod))
	}
	many := func(title, runRow, podRow string) {
		runs, pods := "runs", "bare pods"
		if strings.HasSuffix(runRow, podsSidecarSuffix) {
			runs = "with a sidecar"
		}
		if strings.HasSuffix(podRow, podsSidecarSuffix) {
			pods = "with a sidecar"
		}
		tl, pod := r.Timelines[runRow], r.Timelines[podRow]
		if tl == nil {
			return
		}
		p("### %s\n\nPer pod: the median and the 90th percentile of each phase over the %d pods; \"last\": when the last pod reached the "+
			"milestone, in seconds since the command started.\n\n"+
			"| phase: from | to | %s: median | p90 | last | %s: from | median | p90 | last |\n|---|---|---|---|---|---|---|---|---|\n", title, tl.Pods, runs, pods)
		for _, m := range tl.Order[1:] {
			med, _, _ := stats(tl.Phase[m])
			_, _, last := stats(tl.Offset[m])
			pf, pm, p9, pl := "", "", "", ""
			if pod != nil && len(pod.Phase[m]) > 0 {
				x, _, _ := stats(pod.Phase[m])
				_, _, l := stats(pod.Offset[m])
				pf, pm, p9, pl = pod.from(m), fmt.Sprintf("%.2f s", x), fmt.Sprintf("%.2f s", p90(pod.Phase[m])), fmt.Sprintf("%.2f s", l)
			}
			p("| %s | %s | %.2f s | %.2f s | %.2f s | %s | %s | %s | %s |\n", tl.from(m), m, med, p90(tl.Phase[m]), last, pf, pm, p9, pl)
		}
		p("\n")
	}
	single("One run: create, next to a bare pod (medians over the rounds)", rowCreate, rowBarePod)
	single("Its update", rowUpdate, rowBarePod)
	single("Its destroy", rowDestroy, rowBarePod)
	single("A plan with a preview (one plan Job)", rowPreviewPlan, rowBarePod)
	for _, n := range r.Scales {
		if n >= 50 {
			many(fmt.Sprintf("%d runs in one apply, next to %d bare pods", n, n), rowRuns(n), rowPods(n))
		}
	}
	for _, n := range r.parallelAt() {
		if n > defaultParallelism {
			many(fmt.Sprintf("%d runs with Terraform's default parallelism (10)", n), rowRunsAt(n, defaultParallelism), rowPods(n))
		}
	}
	// The control: what a second container costs the kubelet, and what a run costs
	// beyond a pod that starts the same two containers.
	for _, n := range r.Scales {
		if n >= 50 && r.Timelines[rowPodsSidecar(n)] != nil {
			many(fmt.Sprintf("%d bare pods with a native sidecar (the control), next to %d bare pods", n, n), rowPodsSidecar(n), rowPods(n))
			many(fmt.Sprintf("%d runs in one apply, next to %d bare pods with a native sidecar", n, n), rowRuns(n), rowPodsSidecar(n))
		}
	}
}

// barePodsNote says where the many bare pods' time ends, and what kubectl wait added.
func (r *results) barePodsNote(p func(string, ...any)) {
	var parts []string
	for _, n := range r.Scales {
		if xs := r.KubectlWait[rowPods(n)]; len(xs) > 0 {
			m, _, _ := stats(xs)
			parts = append(parts, fmt.Sprintf("%.2f s at %d pods", m, n))
		}
	}
	if len(parts) == 0 {
		return
	}
	p("\nThe bare pods' time ends when the benchmark's informer saw the last pod `Succeeded`. `kubectl wait`, which " +
		"the benchmark runs too, reads the pods one at a time (a GET each, a watch of the one it waits for) and returned " +
		strings.Join(parts, ", ") + " later (medians): a cost of kubectl's, which a script pays but the node does not, " +
		"and which would flatter the runs' ratio.\n")
}

// sidecarControl is the table of the control rows: bare pods that also start a native
// sidecar of the same image, against the bare pods and the runs.
func (r *results) sidecarControl(p func(string, ...any)) {
	var ns []int
	for _, n := range r.Scales {
		if len(r.Samples[rowPodsSidecar(n)]) > 0 {
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 {
		return
	}
	p("\n### The control: bare pods with a native sidecar\n\nA run's pod starts two containers (the native sidecar " +
		"`outputs-fetcher`, then the runner) where a bare pod starts one. The control pods start the no-op image twice, as a " +
		"native sidecar that requests outputs-fetcher's 64 MiB and waits for the kubelet's SIGTERM, then as the main container: " +
		"what the node charges for the second container, without anything of the provider's.\n\n" +
		"| pods | bare pods | bare pods with a sidecar | with a sidecar / bare | runs / bare pods with a sidecar |\n|---|---|---|---|---|\n")
	for _, n := range ns {
		pods, side, runs := r.median(rowPods(n)), r.median(rowPodsSidecar(n)), r.median(rowRuns(n))
		vsRuns := "not measured"
		if len(r.Samples[rowRuns(n)]) > 0 {
			vsRuns = ratio(runs, side)
		}
		p("| %d | %.2f s | %.2f s | %s | %s |\n", n, pods, side, ratio(side, pods), vsRuns)
	}
}

func podTotal(tl *timeline) string {
	if tl == nil {
		return ""
	}
	t := 0.0
	for _, m := range tl.Order[1:] {
		x, _, _ := stats(tl.Phase[m])
		t += x
	}
	return fmt.Sprintf("**%.2f s**", t)
}

func (r *results) planSection(p func(string, ...any)) {
	if len(r.Samples[rowPreviewPlan]) == 0 && r.PlanRuns == 0 {
		return
	}
	p("\n## Plan preview (issue 22)\n\nThe no-op runner supports the plan action: with `ACTION=plan` it writes a plan of one thing to add. " +
		"Each `terraform plan` below plans creates (no state); the previews it keeps are deleted after it.\n\n" +
		"| what | median | spread | API requests per run |\n|---|---|---|---|\n")
	rows := []string{rowPlainPlan, rowPreviewPlan}
	if r.PlanRuns > 0 {
		rows = append(rows, rowPlanMany(r.PlanRuns), rowPlanManyApply(r.PlanRuns))
	}
	for _, row := range rows {
		m, s := r.cell(row)
		req, _ := r.medianRequests(row)
		p("| %s | %s | %s | %.1f |\n", row, m, s, req)
	}
	plain, preview, bare := r.median(rowPlainPlan), r.median(rowPreviewPlan), r.median(rowBarePod)
	own := r.median(rowCreate) - r.median(rowEmptyApply)
	p("\n| ratio | measured |\n|---|---|\n")
	p("| plan with a preview / plan without | %s |\n", ratio(preview, plain))
	p("| a preview's own cost (plan with - plan without) / bare pod | %s |\n", ratio(preview-plain, bare))
	p("| a preview's own cost / a create's own cost (apply - empty apply) | %s |\n", ratio(preview-plain, own))
	if n := r.PlanRuns; n > 0 {
		p("| plan of %d runs with previews / one plan with a preview | %s |\n", n, ratio(r.median(rowPlanMany(n)), preview))
		inPlan, okP := r.PlanJobs[rowPlanMany(n)]
		inApply, okA := r.PlanJobs[rowPlanManyApply(n)]
		if okP && okA {
			once := "yes"
			if inPlan != n || inApply != 0 {
				once = "**no**"
			}
			p("\nPlan Jobs counted through the API (Jobs labelled `containerdriver.io/action=plan` that the informer saw created): "+
				"**%d** during the plan of %d runs, **%d** during its apply, which plans again and applies the previews. "+
				"Each preview ran exactly once: %s (the benchmark fails otherwise).\n", inPlan, n, inApply, once)
		}
	}
}

// targets is issue 21's table, each target met or not by this run's figures.
func (r *results) targets(p func(string, ...any)) {
	p("\n## Targets of issue 21\n\nComputed from this run's medians; \"issue 21\" is the figure the issue was filed with.\n\n" +
		"| row | issue 21 | measured | target | |\n|---|---|---|---|---|\n")
	empty, bare, job := r.median(rowEmptyApply), r.median(rowBarePod), r.median(rowJobScript)
	line := func(name, then string, measured float64, ok bool, unit, target string, limit float64) {
		if !ok {
			p("| %s | %s | not measured | %s | **not met** (not measured) |\n", name, then, target)
			return
		}
		p("| %s | %s | %s | %s | %s |\n", name, then, fmt.Sprintf(unit, measured), target, verdict(measured, limit))
	}
	has := func(rows ...string) bool {
		for _, row := range rows {
			if len(r.Samples[row]) == 0 {
				return false
			}
		}
		return true
	}
	line("create: (apply - empty apply) / bare pod", "2.31x", (r.median(rowCreate)-empty)/bare, has(rowCreate, rowEmptyApply, rowBarePod), "%.2fx", "at most 1.30x", 1.3)
	line("create: (apply - empty apply) / kubectl Job script", "1.50x", (r.median(rowCreate)-empty)/job, has(rowCreate, rowEmptyApply, rowJobScript), "%.2fx", "at most 0.85x", 0.85)
	line("update: (apply - empty apply) / bare pod", "1.97x", (r.median(rowUpdate)-empty)/bare, has(rowUpdate, rowEmptyApply, rowBarePod), "%.2fx", "at most 1.30x", 1.3)
	line("destroy: (apply - empty apply) / bare pod", "1.95x", (r.median(rowDestroy)-empty)/bare, has(rowDestroy, rowEmptyApply, rowBarePod), "%.2fx", "at most 1.30x", 1.3)
	line("50 runs in one apply / 50 bare pods", "1.39x", r.median(rowRuns(50))/r.median(rowPods(50)), has(rowRuns(50), rowPods(50)), "%.2fx", "at most 1.15x", 1.15)
	line("200 runs in one apply (`-parallelism=200`) / 200 bare pods", "not measured", r.median(rowRuns(200))/r.median(rowPods(200)), has(rowRuns(200), rowPods(200)), "%.2fx", "at most 1.15x", 1.15)
	single, _ := r.medianRequests(rowCreate)
	line("API requests per run: one run (create)", "27", single, len(r.Requests[rowCreate]) > 0, "%.1f", "at most 12", 12)
	fifty, _ := r.medianRequests(rowRuns(50))
	line("API requests per run: 50 at once", "35", fifty, len(r.Requests[rowRuns(50)]) > 0, "%.1f", "at most 8", 8)
	rss := float64(r.PeakRSSKiB[200]) / 1024
	line("provider peak RSS at 200 runs in flight", "not measured", rss, r.PeakRSSKiB[200] > 0, "%.0f MiB", "at most 200 MiB", 200)
}

// The timeline, plan and targets sections show what was measured, and each target's
// verdict follows the figures.
func TestPagePhases(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	run := &timeline{}
	run.add([][]milestone{{{msCommandStart, at(0)}, {msJobCreated, at(1)}, {msPodCreated, at(1.5)}, {"runner started", at(3)}, {"runner ended", at(3.5)}, {msCommandEnd, at(4)}}})
	pod := &timeline{}
	pod.add([][]milestone{{{msCommandStart, at(0)}, {msPodCreated, at(0.25)}, {"runner started", at(1)}, {"runner ended", at(1.5)}, {msCommandEnd, at(2)}}})
	many := &timeline{}
	many.add([][]milestone{
		{{msCommandStart, at(0)}, {msPodCreated, at(1)}, {msCommandEnd, at(10)}},
		{{msCommandStart, at(0)}, {msPodCreated, at(3)}, {msCommandEnd, at(10)}},
	})
	r := &results{
		Rounds: 1, ScaleRounds: 1, Scales: []int{50, 200}, PlanRuns: 20, ParallelAt: 200,
		Samples: map[string][]float64{
			rowBarePod: {2}, rowJobScript: {3}, rowEmptyApply: {0.5},
			rowCreate: {4.5}, rowUpdate: {2.5}, rowDestroy: {3},
			rowRuns(50): {11}, rowPods(50): {10}, rowRuns(200): {40}, rowPods(200): {40}, rowRunsAt(200, 10): {80},
			rowPlainPlan: {1}, rowPreviewPlan: {3}, rowPlanMany(20): {9}, rowPlanManyApply(20): {12},
		},
		Requests: map[string][]requestCounts{
			rowCreate:   {{Requests: map[string]int{"create jobs": 10}, Runs: 1, Seconds: 4.5}},
			rowRuns(50): {{Requests: map[string]int{"create jobs": 500}, Runs: 50, Seconds: 10, Throttled: 7, ThrottledSeconds: 0.5}},
		},
		PeakRSSKiB:   map[int]int64{200: 150 << 10},
		PeakRSSByRow: map[string]int64{rowRuns(200): 150 << 10},
		Timelines:    map[string]*timeline{rowCreate: run, rowBarePod: pod, rowRuns(200): many},
		PlanJobs:     map[string]int{rowPlanMany(20): 20, rowPlanManyApply(20): 0},
	}
	page := r.page(t.TempDir())
	for _, want := range []string{
		// The timeline: each phase from the milestone before; the bare pod beside it.
		"| Job created | pod created | 0.50 s | 12% | command started | 0.25 s |",
		"| pod created | runner started | 1.50 s | 38% | pod created | 0.75 s |",
		"| | **sum of the medians** | **4.00 s** | | | **2.00 s** |",
		"| command started | pod created | 2.00 s | 3.00 s | 3.00 s |",
		"| pod created | command ended | 8.00 s | 9.00 s | 10.00 s |",
		// Scale: the RSS, the request rate, the throttling, both parallelism settings.
		"| 50 (`-parallelism=50`) | 11.00 s | 10.00 s | 1.10x | at most 1.15x: met | not measured | 50.0/s | 7 (0.50 s) |",
		"| 200 (`-parallelism=200`) | 40.00 s | 40.00 s | 1.00x | at most 1.15x: met | 150 MiB |",
		"| 200 (`-parallelism=10`, Terraform's default) | 80.00 s | 40.00 s | 2.00x | at most 1.15x: **not met** |",
		// The plan preview.
		"| a preview's own cost (plan with - plan without) / bare pod | 1.00x |",
		"**20** during the plan of 20 runs, **0** during its apply",
		"Each preview ran exactly once: yes",
		// The targets, computed.
		"| create: (apply - empty apply) / bare pod | 2.31x | 2.00x | at most 1.30x | **not met** |",
		"| update: (apply - empty apply) / bare pod | 1.97x | 1.00x | at most 1.30x | met |",
		"| create: (apply - empty apply) / kubectl Job script | 1.50x | 1.33x | at most 0.85x | **not met** |",
		"| 50 runs in one apply / 50 bare pods | 1.39x | 1.10x | at most 1.15x | met |",
		"| 200 runs in one apply (`-parallelism=200`) / 200 bare pods | not measured | 1.00x | at most 1.15x | met |",
		"| API requests per run: one run (create) | 27 | 10.0 | at most 12 | met |",
		"| API requests per run: 50 at once | 35 | 10.0 | at most 8 | **not met** |",
		"| provider peak RSS at 200 runs in flight | not measured | 150 MiB | at most 200 MiB | met |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}

	// A preview run twice fails the sentence; a row not measured is not met.
	r.PlanJobs[rowPlanManyApply(20)] = 20
	delete(r.Samples, rowRuns(200))
	r.PeakRSSKiB = nil
	page = r.page(t.TempDir())
	for _, want := range []string{
		"Each preview ran exactly once: **no**",
		"| 200 runs in one apply (`-parallelism=200`) / 200 bare pods | not measured | not measured | at most 1.15x | **not met** (not measured) |",
		"| provider peak RSS at 200 runs in flight | not measured | not measured | at most 200 MiB | **not met** (not measured) |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
}
