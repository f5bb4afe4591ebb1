package bench

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// before are the figures issue 11 quotes for the code before the work it asked for
// (medians of 5 interleaved rounds on the same kind of 2-core node), by row.
var before = map[string]string{
	rowBarePod:    "3.2 s",
	rowJobScript:  "4.8 s",
	rowEmptyApply: "0.2 s",
	rowCreate:     "7.5 s",
	rowUpdate:     "8.1 s",
	rowDestroy:    "8.0 s",
}

// median and the spread (min, max) of xs.
func stats(xs []float64) (med, lo, hi float64) {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0, 0, 0
	}
	med = s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return med, s[0], s[n-1]
}

func (r *results) median(row string) float64 {
	m, _, _ := stats(r.Samples[row])
	return m
}

func (r *results) cell(row string) (median, spread string) {
	xs := r.Samples[row]
	if len(xs) == 0 {
		if f := r.Failures[row]; f != "" {
			return "failed", f
		}
		return "not measured", ""
	}
	m, lo, hi := stats(xs)
	if len(xs) == 1 {
		return fmt.Sprintf("%.2f s", m), "one sample"
	}
	return fmt.Sprintf("%.2f s", m), fmt.Sprintf("%.2f to %.2f s", lo, hi)
}

func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

func verdict(got, limit float64) string {
	if got <= limit {
		return "met"
	}
	return "**not met**"
}

// medianRequests is the median number of API requests per run of a row.
func (r *results) medianRequests(row string) (float64, requestCounts) {
	cs := r.Requests[row]
	if len(cs) == 0 {
		return 0, requestCounts{}
	}
	var per []float64
	for _, c := range cs {
		per = append(per, float64(c.total())/float64(max(c.Runs, 1)))
	}
	m, _, _ := stats(per)
	return m, cs[len(cs)-1]
}

func (r *results) page(root string) string {
	b, rounds, scaleRounds, scales := r, r.Rounds, r.ScaleRounds, r.Scales
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p(`---
page_title: "Performance"
subcategory: "Guides"
description: |-
  What a containerdriver_run costs next to a bare pod and a kubectl Job script, measured by make bench.
---

# Performance

`+"`make bench`"+` ([hack/bench](https://github.com/containerdriver/terraform-provider-containerdriver/tree/main/hack/bench))
measures, on the local cluster, what a `+"`containerdriver_run`"+` costs next to what a user could do
instead: start a bare pod of the same image, or script a Job with kubectl. The runner is a no-op
image that writes `+"`{\"ok\":\"yes\"}`"+` to both output files, so the figures are the cost of a run
around the runner. Every command is timed from the outside, as a user runs it: Terraform with the
provider built from the work tree (dev_overrides), kubectl against the same cluster. The rounds
are interleaved (each round runs every row once), and the text quotes ratios, which carry over to
other machines better than seconds do.

This page is written by `+"`make bench`"+`; the notes at its end are kept in
`+"`hack/bench/notes.md`"+`.

## How it was measured

- Command: `+"`%s`"+` (%d %s of the single-run rows, %d %s of the many-run rows), %s.
- Machine: %s; Kubernetes %s, one node; %s.
- Load average (1, 5, 15 min) at the start and the end: %s, and %s.
- Duration of the whole benchmark: %s.

`, r.Command, rounds, plural(rounds, "round"), scaleRounds, plural(scaleRounds, "round"), r.Date,
		r.Machine, r.Kubernetes, r.CLI, r.LoadStart, r.LoadEnd, r.Duration)

	if r.Partial != "" {
		p("**This benchmark did not run to its end** (%s): the rows below are what it measured until then.\n\n", r.Partial)
	}
	bb := r.Before
	if bb != nil {
		p("The \"before\" columns are the same benchmark run on %s (`%s`, %s, %s; load %s to %s): "+
			"the code before this page's changes, measured the same way on the same machine.\n\n",
			r.BeforeLabel, bb.Command, bb.Date, bb.Duration, bb.LoadStart, bb.LoadEnd)
		p("## One run\n\n| what | median | spread | before (%s) | before (issue 11) |\n|---|---|---|---|---|\n", r.BeforeLabel)
	} else {
		p("## One run\n\n| what | median | spread | before (issue 11) |\n|---|---|---|---|\n")
	}
	rows := []string{rowBarePod, rowJobScript, rowEmptyApply, rowCreate, rowUpdate, rowDestroy}
	for _, v := range variants {
		rows = append(rows, v.row)
	}
	for _, r := range rows {
		m, s := b.cell(r)
		bf := before[r]
		if bf == "" {
			bf = "not measured"
		}
		if bb != nil {
			bm, _ := bb.cell(r)
			p("| %s | %s | %s | %s | %s |\n", r, m, s, bm, bf)
			continue
		}
		p("| %s | %s | %s | %s |\n", r, m, s, bf)
	}

	empty, bare, job := b.median(rowEmptyApply), b.median(rowBarePod), b.median(rowJobScript)
	p("\n## Ratios and targets\n\nA run's own cost is the apply minus the empty apply (Terraform's start-up, plan and state).\n\n")
	// was is the same ratio before, as a last column (nothing without a before run).
	was := func(f func(*results) string) string {
		if bb == nil {
			return ""
		}
		return " " + f(bb) + " |"
	}
	head := "| ratio | measured | target | |"
	if bb != nil {
		head += " before (" + r.BeforeLabel + ") |"
	}
	p("%s\n|%s\n", head, strings.Repeat("---|", strings.Count(head, "|")-1))
	for _, row := range []struct{ name, row string }{{"create", rowCreate}, {"update", rowUpdate}, {"destroy", rowDestroy}} {
		own := b.median(row.row) - empty
		p("| %s: (apply - empty apply) / bare pod | %s | at most 1.30x | %s |%s\n", row.name, ratio(own, bare), verdict(own/bare, 1.3),
			was(func(x *results) string { return ratio(x.median(row.row)-x.median(rowEmptyApply), x.median(rowBarePod)) }))
		p("| %s: (apply - empty apply) / kubectl Job script | %s | at most 0.85x | %s |%s\n", row.name, ratio(own, job), verdict(own/job, 0.85),
			was(func(x *results) string {
				return ratio(x.median(row.row)-x.median(rowEmptyApply), x.median(rowJobScript))
			}))
	}
	for _, v := range variants {
		p("| %s / create | %s | | |%s\n", v.row, ratio(b.median(v.row), b.median(rowCreate)),
			was(func(x *results) string { return ratio(x.median(v.row), x.median(rowCreate)) }))
	}

	head = "| runs | runs in one apply | bare pods at once | runs / pods | target | provider's peak RSS | API requests per second | held back by client-side throttling |"
	if bb != nil {
		head += " before (" + r.BeforeLabel + "): runs, pods, runs / pods |"
	}
	p("\n## Many runs in one apply\n\n%s\n|%s\n", head, strings.Repeat("---|", strings.Count(head, "|")-1))
	wasMany := func(runsRow, podsRow string) string {
		return was(func(x *results) string {
			if len(x.Samples[runsRow]) == 0 {
				if f := x.Failures[runsRow]; f != "" {
					return "failed: " + f
				}
				return "not measured"
			}
			return fmt.Sprintf("%.2f s, %.2f s, %s", x.median(runsRow), x.median(podsRow), ratio(x.median(runsRow), x.median(podsRow)))
		})
	}
	p("| 1 | %.2f s | %.2f s | %s | at most 1.30x: %s | | %s | %s |%s\n", b.median(rowCreate), bare, ratio(b.median(rowCreate), bare),
		verdict(b.median(rowCreate)/bare, 1.3), b.rate(rowCreate), b.throttle(rowCreate), wasMany(rowCreate, rowBarePod))
	for _, n := range scales {
		rows := []string{rowRuns(n)}
		if slices.Contains(r.parallelAt(), n) && n > defaultParallelism {
			rows = append(rows, rowRunsAt(n, defaultParallelism))
		}
		for _, row := range rows {
			runs, pods := b.median(row), b.median(rowPods(n))
			label := fmt.Sprint(n)
			if row != rowRuns(n) {
				label = fmt.Sprintf("%d (`-parallelism=%d`, Terraform's default)", n, defaultParallelism)
			} else if n > defaultParallelism {
				label = fmt.Sprintf("%d (`-parallelism=%d`)", n, n)
			}
			if len(r.Samples[row]) == 0 || len(r.Samples[rowPods(n)]) == 0 {
				rm, _ := b.cell(row)
				pm, _ := b.cell(rowPods(n))
				if r.Failures[row] != "" {
					rm = "failed (below)"
				}
				p("| %s | %s | %s | | at most %s: **not met** | | | |%s\n", label, rm, pm, manyTarget(n), wasMany(row, rowPods(n)))
				continue
			}
			lim, _ := strconv.ParseFloat(strings.TrimSuffix(manyTarget(n), "x"), 64)
			p("| %s | %.2f s | %.2f s | %s | at most %s: %s | %s | %s | %s |%s\n", label, runs, pods, ratio(runs, pods), manyTarget(n), verdict(runs/pods, lim),
				b.rss(row), b.rate(row), b.throttle(row), wasMany(row, rowPods(n)))
		}
	}
	p("\nThe API request rate is the provider's requests (every process of the command) divided by the command's " +
		"duration; client-side throttling is client-go's rate limiter of the provider (`qps` 50, `burst` 500 by default): how many " +
		"requests it held back and their total wait. `-parallelism` is left to Terraform: the rows with `-parallelism=N` " +
		"start every run at once, the rows with Terraform's default (10) start at most 10 runs at a time.\n")
	p("\nIssue 11 measured 20 runs in one apply at 55.3 s and 20 bare pods at 28.6 s before: 1.93x.\n")
	r.barePodsNote(p)
	r.sidecarControl(p)
	r.runtimeOpsSection(p)

	p("\n## API requests per run\n\nCounted by the provider's client (`CONTAINERDRIVER_COUNT_REQUESTS`, a wrapping RoundTripper), " +
		"every provider process of the command together, divided by the number of runs. Target (issue 21): at most 12 per run alone, at most 8 per run with 50 at once; waiting by watches only.\n\n")
	cols := []string{rowCreate, rowUpdate, rowDestroy}
	for _, n := range scales {
		cols = append(cols, rowRuns(n))
	}
	names := []string{"create", "update", "destroy"}
	for _, n := range scales {
		names = append(names, fmt.Sprintf("%d runs (per run)", n))
	}
	p("| verb resource | %s |\n|---|%s\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
	keys := map[string]bool{}
	last := map[string]requestCounts{}
	for _, c := range cols {
		_, l := b.medianRequests(c)
		last[c] = l
		for k := range l.Requests {
			keys[k] = true
		}
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range keys {
			if !yield(k) {
				return
			}
		}
	}) {
		var cells []string
		for _, c := range cols {
			l := last[c]
			cells = append(cells, perRun(l.Requests[k], l.Runs))
		}
		p("| %s | %s |\n", k, strings.Join(cells, " | "))
	}
	var totals, throttled []string
	for _, c := range cols {
		m, l := b.medianRequests(c)
		if len(b.Requests[c]) == 0 {
			totals, throttled = append(totals, "not measured"), append(throttled, "")
			continue
		}
		lim := 12.0
		if l.Runs >= 50 {
			lim = 8
		}
		totals = append(totals, fmt.Sprintf("**%.1f** (%s)", m, verdict(m, lim)))
		throttled = append(throttled, fmt.Sprintf("%d (%.2f s)", l.Throttled, l.ThrottledSeconds))
	}
	p("| **total** (median over the rounds) | %s |\n", strings.Join(totals, " | "))
	p("| requests held back by client-side throttling (the command's total wait) | %s |\n", strings.Join(throttled, " | "))
	if bb != nil {
		var bt []string
		for _, c := range cols {
			if len(bb.Requests[c]) == 0 {
				bt = append(bt, "not measured")
				continue
			}
			m, _ := bb.medianRequests(c)
			bt = append(bt, fmt.Sprintf("%.1f", m))
		}
		p("| total before (%s) | %s |\n", r.BeforeLabel, strings.Join(bt, " | "))
	}
	p("\nThe breakdown is the last round's, with the provider's default `qps` and `burst` (50 and 500).\n")

	p("\n## Memory and image size\n\n| what | measured | target | | before |\n|---|---|---|---|---|\n")
	for _, n := range scales {
		mib := float64(r.PeakRSSKiB[n]) / 1024
		wasRSS := "not measured"
		if bb != nil && bb.PeakRSSKiB[n] > 0 {
			wasRSS = fmt.Sprintf("%.0f MiB (%s)", float64(bb.PeakRSSKiB[n])/1024, r.BeforeLabel)
		}
		if r.PeakRSSKiB[n] <= 0 {
			p("| provider's peak RSS (VmHWM) with %d runs in flight | not measured | at most 200 MiB | **not met** (not measured) | %s |\n", n, wasRSS)
			continue
		}
		p("| provider's peak RSS (VmHWM) with %d runs in flight | %.0f MiB | at most 200 MiB | %s | %s |\n", n, mib, verdict(mib, 200), wasRSS)
	}
	mb := float64(r.ImageBytes) / 1e6
	wasImage := "156 MB (issue 11)"
	if bb != nil && bb.ImageBytes > 0 {
		wasImage = fmt.Sprintf("%.1f MB (%s)", float64(bb.ImageBytes)/1e6, r.BeforeLabel)
	}
	p("| sidecar image, uncompressed | %.1f MB | at most 30 MB | %s | %s |\n", mb, verdict(mb, 30), wasImage)

	r.timelines(p)
	r.planSection(p)
	r.targets(p)

	if len(r.Failures) > 0 {
		p("\n## Failed measurements\n\n")
		for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
			p("- %s: %s\n", k, r.Failures[k])
		}
	}

	notes, err := os.ReadFile(filepath.Join(root, "hack", "bench", "notes.md"))
	if err == nil {
		p("\n%s", notes)
	}
	return w.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func perRun(n, runs int) string {
	if n == 0 {
		return ""
	}
	if runs <= 1 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%.1f", float64(n)/float64(runs))
}

// machine describes this machine: CPUs, memory, kernel.
func machine() string {
	model := "?"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(raw)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "?"
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for l := range strings.Lines(string(raw)) {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
				}
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d CPUs (%s), %s of memory, Linux %s, %s/%s", runtime.NumCPU(), model, mem,
		strings.TrimSpace(string(kernel)), runtime.GOOS, runtime.GOARCH)
}

// The page quotes the ratios of the medians and names each target met or not.
func TestPage(t *testing.T) {
	r := &results{
		Command: "make bench", Rounds: 3, ScaleRounds: 1, Scales: []int{10},
		Samples: map[string][]float64{
			rowBarePod: {3, 4, 100}, rowJobScript: {5, 5, 5}, rowEmptyApply: {0.5, 0.5, 0.5},
			rowCreate: {4, 4.5, 5}, rowUpdate: {6, 6.5, 7}, rowDestroy: {4, 4, 4},
			rowRuns(10): {20}, rowPods(10): {10},
		},
		Requests: map[string][]requestCounts{
			rowCreate:   {{Requests: map[string]int{"create jobs": 1, "watch pods": 1}, Runs: 1}},
			rowRuns(10): {{Requests: map[string]int{"create jobs": 10, "watch pods": 1}, Runs: 10, Throttled: 3, ThrottledSeconds: 1.5}},
		},
		PeakRSSKiB: map[int]int64{10: 250 << 10},
		ImageBytes: 24_000_000,
	}
	page := r.page(t.TempDir())
	for _, want := range []string{
		"| create: (apply - empty apply) / bare pod | 1.00x | at most 1.30x | met |",
		"| create: (apply - empty apply) / kubectl Job script | 0.80x | at most 0.85x | met |",
		"| update: (apply - empty apply) / bare pod | 1.50x | at most 1.30x | **not met** |",
		"| 10 | 20.00 s | 10.00 s | 2.00x | at most 1.30x: **not met** |",
		"| create jobs | 1 |", "| watch pods | 1 |", "| 0.1 |",
		"| 3 (1.50 s) |",
		"| 250 MiB | at most 200 MiB | **not met** |",
		"| 24.0 MB | at most 30 MB | met | 156 MB (issue 11) |",
		"(3 rounds of the single-run rows, 1 round of the many-run rows)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "{{") {
		t.Error("the page holds {{, which tfplugindocs would take for a template action")
	}

	// With the results of the code before, each table gets its before column.
	was := *r
	was.Samples = map[string][]float64{rowBarePod: {4}, rowJobScript: {5}, rowEmptyApply: {0}, rowCreate: {8}, rowRuns(10): {30}, rowPods(10): {10}}
	was.ImageBytes = 156_000_000
	r.Before, r.BeforeLabel = &was, "main"
	page = r.page(t.TempDir())
	for _, want := range []string{
		"| `terraform apply` of one `containerdriver_run`: create | 4.50 s | 4.00 to 5.00 s | 8.00 s | 7.5 s |",
		"| create: (apply - empty apply) / bare pod | 1.00x | at most 1.30x | met | 2.00x |",
		"| 10 | 20.00 s | 10.00 s | 2.00x | at most 1.30x: **not met** | not measured | not measured | 3 (1.50 s) | 30.00 s, 10.00 s, 3.00x |",
		"| 24.0 MB | at most 30 MB | met | 156.0 MB (main) |",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page with a before run lacks %q:\n%s", want, page)
		}
	}

	// A before run without a row (an older bench had no such scale) says so, neither a
	// failure nor zero requests.
	older := was
	older.Samples = map[string][]float64{rowBarePod: {4}, rowJobScript: {5}, rowEmptyApply: {0}, rowCreate: {8}}
	older.Requests = map[string][]requestCounts{rowCreate: r.Requests[rowCreate]}
	r.Before, r.BeforeLabel = &older, "older"
	page = r.page(t.TempDir())
	for _, line := range strings.Split(page, "\n") {
		switch {
		case strings.HasPrefix(line, "| 10 | 20.00 s |") && !strings.HasSuffix(line, "| not measured |"):
			t.Errorf("the 10-run row's before column is not \"not measured\": %s", line)
		case strings.HasPrefix(line, "| total before (older) |") && line != "| total before (older) | 2.0 | not measured | not measured | not measured |":
			t.Errorf("the before totals: %s", line)
		}
	}
}
