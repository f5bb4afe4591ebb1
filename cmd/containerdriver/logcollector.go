package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
)

// Shortest secret values looked for: a very short value ("1", "true") would match unrelated
// text. Secret variables as the provider masks them; secret outputs, which a runner makes
// up (a port, a flag), from a little longer.
const (
	minSecretVariableLen = 4
	minSecretOutputLen   = 6
)

// logCollector keeps the runner's raw log of every run and the secret values the check
// knows (its secret variables, and the secret outputs the runs returned). A line holding one
// of them is a leak. The raw text is never printed: everything check prints goes through
// mask. Matching the values themselves, rather than the executor's mask in the lines it
// streams, keeps a tool that prints "(sensitive value)" of its own (Terraform's plan does)
// from counting as a leak.
type logCollector struct {
	mu      sync.Mutex
	lines   []logLine
	secrets map[string]bool
}

type logLine struct{ run, text string }

func newLogCollector() *logCollector { return &logCollector{secrets: map[string]bool{}} }

// addLog keeps the lines of one run's log.
func (l *logCollector) addLog(run, text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if line != "" {
			l.lines = append(l.lines, logLine{run, line})
		}
	}
}

// addSecretVariables learns the values of secret variables.
func (l *logCollector) addSecretVariables(vars map[string]string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, v := range vars {
		if v = strings.TrimSpace(v); len(v) >= minSecretVariableLen {
			l.secrets[v] = true
		}
	}
}

// addSecrets learns the string values of secret outputs.
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

// mask replaces every known secret value in s.
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

// leaks are the lines, of every run so far, that hold a secret value, masked.
func (l *logCollector) leaks() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, ln := range l.lines {
		if t := l.maskLocked(ln.text); t != ln.text {
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
