package containerdriver

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// redactedText replaces a secret value wherever it would be shown.
const redactedText = "(sensitive value)"

// MinSecretLen is the shortest value that is masked. Masking a "1" or an "eu" would mask
// unrelated text everywhere, so single secrets (secret variables, secret files, the git
// password and key, the target content) shorter than this are refused by Validate; short
// strings inside credentials (a region, a flag) and short secret outputs are not masked.
const MinSecretLen = 4

// redactor masks every secret value a run knows of in text that reaches a person: log
// lines, log tails, the error file, termination messages and the runner's status. Each
// value is masked as written, base64-encoded (standard and URL alphabets, padded or not),
// JSON-escaped and URL-encoded, as runners and tools print secrets in these forms too.
type redactor struct {
	vals []string // the raw values, to add more later
	r    *strings.Replacer
}

func newRedactor(spec *RunSpec) *redactor {
	var vals []string
	add := func(v string) { vals = append(vals, v) }
	for _, v := range spec.Job.SecretVariables {
		add(v)
	}
	for _, v := range spec.SecretFiles {
		add(v)
	}
	if s := spec.Source; s != nil {
		add(s.Password)
		add(s.SSHKey)
	}
	if t := spec.Target; t != nil {
		add(t.Content)
	}
	walkStrings(spec.Credentials, add)
	if creds, err := spec.CredentialsConfig.ResolveCredentials(spec.Credentials, spec.Job.SharedDirectory); err == nil {
		// What credentials_config makes of them: the whole object as JSON, script variables.
		for _, v := range creds.Env {
			add(v)
		}
		for _, v := range creds.Files {
			add(v)
		}
	}
	return newRedactorOf(vals)
}

// withSecretOutputs is r plus every string of the run's secret outputs, once known.
func (r *redactor) withSecretOutputs(secrets map[string]any) *redactor {
	if len(secrets) == 0 {
		return r
	}
	vals := append([]string{}, r.vals...)
	walkStrings(secrets, func(v string) { vals = append(vals, v) })
	if b, err := json.Marshal(secrets); err == nil {
		vals = append(vals, string(b))
	}
	return newRedactorOf(vals)
}

func newRedactorOf(vals []string) *redactor {
	seen := map[string]bool{}
	forms := func(v string) {
		if len(v) < MinSecretLen {
			return
		}
		for _, f := range secretForms(v) {
			if len(f) >= MinSecretLen {
				seen[f] = true
			}
		}
	}
	for _, v := range vals {
		forms(v)
		forms(strings.TrimSpace(v))
		// Multi-line secrets (keys, files) are masked line by line too, as logs split them.
		if strings.Contains(v, "\n") {
			for _, l := range strings.Split(v, "\n") {
				if l = strings.TrimSpace(l); len(l) >= 8 {
					forms(l)
				}
			}
		}
	}
	r := &redactor{vals: vals}
	if len(seen) == 0 {
		return r
	}
	list := make([]string, 0, len(seen))
	for v := range seen {
		list = append(list, v)
	}
	// Longest first, so a secret that contains another is masked whole.
	sort.Slice(list, func(i, j int) bool {
		return len(list[i]) > len(list[j]) || (len(list[i]) == len(list[j]) && list[i] < list[j])
	})
	pairs := make([]string, 0, 2*len(list))
	for _, v := range list {
		pairs = append(pairs, v, redactedText)
	}
	r.r = strings.NewReplacer(pairs...)
	return r
}

// secretForms are the ways a value shows up in text: as is, base64 in both alphabets
// with and without padding, JSON-escaped (the inside of a JSON string), and URL-encoded
// (query and path escaping).
func secretForms(v string) []string {
	b := []byte(v)
	out := []string{
		v,
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(v),
		url.PathEscape(v),
	}
	if j, err := json.Marshal(v); err == nil {
		out = append(out, string(j[1:len(j)-1]))
	}
	// Go's encoder escapes <, > and & where other JSON encoders do not.
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err == nil {
		j := strings.TrimSpace(sb.String())
		out = append(out, j[1:len(j)-1])
	}
	return out
}

// walkStrings calls f with every string in v (maps, lists, strings).
func walkStrings(v any, f func(string)) {
	switch t := v.(type) {
	case string:
		f(t)
	case map[string]any:
		for _, x := range t {
			walkStrings(x, f)
		}
	case []any:
		for _, x := range t {
			walkStrings(x, f)
		}
	}
}

func (r *redactor) mask(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
