package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// logCollector is check's Observer: it keeps the runner's log lines of every run (already
// masked by the executor for the secret variables), and masks the secret outputs' values,
// which only the results reveal, in everything check prints.
type logCollector struct {
	mu      sync.Mutex
	run     string
	lines   []logLine
	secrets map[string]bool
}

type logLine struct{ run, text string }

func newLogCollector() *logCollector { return &logCollector{secrets: map[string]bool{}} }

func (l *logCollector) Event(string) {}

func (l *logCollector) LogLine(container, line string) {
	if container != contract.ContainerRunner {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{l.run, line})
}

// begin names the run the following lines belong to.
func (l *logCollector) begin(run string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.run = run
}

// addSecrets learns the string values of secret outputs (long enough not to match
// ordinary words).
func (l *logCollector) addSecrets(m map[string]any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			if t = strings.TrimSpace(t); len(t) >= minSecretOutputLen {
				l.secrets[t] = true
			}
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(m)
}

// mask replaces every known secret output value in s.
func (l *logCollector) mask(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maskLocked(s)
}

func (l *logCollector) maskLocked(s string) string {
	if len(l.secrets) == 0 {
		return s
	}
	vals := make([]string, 0, len(l.secrets))
	for v := range l.secrets {
		vals = append(vals, v)
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(vals, func(i, j int) bool {
		return len(vals[i]) > len(vals[j]) || (len(vals[i]) == len(vals[j]) && vals[i] < vals[j])
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, containerdriver.MaskedText)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// leaks are the lines, of every run so far, that show a secret value: a secret variable
// the executor masked, or a secret output.
func (l *logCollector) leaks() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range l.lines {
		if t := l.maskLocked(ln.text); strings.Contains(t, containerdriver.MaskedText) {
			out = append(out, fmt.Sprintf("[%s] %s", ln.run, t))
		}
	}
	return out
}

func (l *logCollector) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}
