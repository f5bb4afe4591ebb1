package containerdriver

import (
	"sort"
	"strings"
)

// redactedText replaces a secret value wherever it would be shown.
const redactedText = "(sensitive value)"

// minSecretLen keeps very short values (a "1", a "true") from masking unrelated text.
const minSecretLen = 4

// redactor masks every secret value a run knows of in text that reaches a person: log
// lines, log tails, the error file and termination messages.
type redactor struct{ r *strings.Replacer }

func newRedactor(spec *RunSpec) *redactor {
	seen := map[string]bool{}
	add := func(v string) {
		v = strings.TrimSpace(v)
		if len(v) >= minSecretLen {
			seen[v] = true
		}
		// Multi-line secrets (keys, files) are masked line by line too, as logs split them.
		if strings.Contains(v, "\n") {
			for _, l := range strings.Split(v, "\n") {
				if l = strings.TrimSpace(l); len(l) >= 8 {
					seen[l] = true
				}
			}
		}
	}
	for _, v := range spec.Job.SecretVariables {
		add(v)
	}
	for _, v := range spec.SecretFile {
		add(v)
	}
	if s := spec.Source; s != nil {
		add(s.Password)
		add(s.SSHKey)
	}
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			add(t)
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
	walk(spec.Credentials)
	if len(seen) == 0 {
		return &redactor{}
	}
	vals := make([]string, 0, len(seen))
	for v := range seen {
		vals = append(vals, v)
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(vals, func(i, j int) bool {
		return len(vals[i]) > len(vals[j]) || (len(vals[i]) == len(vals[j]) && vals[i] < vals[j])
	})
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, redactedText)
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (r *redactor) mask(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
