package containerdriver

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
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
// value is masked as written, base64-encoded (standard and URL alphabets, padded or not,
// alone or anywhere inside a longer base64 text), hex-encoded (lower and upper case),
// JSON-escaped (also with every non-ASCII or every character as a \u escape) and
// URL-encoded, as runners and tools print secrets in these forms too.
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
	walkNumbers(spec.Credentials, add)
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
	out = append(out, base64Inside(b)...)
	out = append(out, hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)))
	for _, upper := range []bool{false, true} {
		out = append(out, jsonUnicodeEscaped(v, false, upper), jsonUnicodeEscaped(v, true, upper))
	}
	return out
}

// base64Inside are the parts of a longer base64 text that hold b whatever comes before
// and after it. Base64 turns 3 bytes into 4 characters, so b encodes in one of three
// ways, by its offset in the encoded bytes modulo 3: encoded after 0, 1 or 2 other bytes,
// the characters that depend on b alone (not on the bytes around it) are the same
// wherever b lies. Standard and URL alphabets; padding never falls inside.
func base64Inside(b []byte) []string {
	var out []string
	for k := 0; k < 3; k++ {
		enc := base64.RawStdEncoding.EncodeToString(append(make([]byte, k), b...))
		// Character i holds bits 6i..6i+5: those after the k bytes before b (i >= 8k/6,
		// rounded up), and before the bytes after it (6i+6 <= 8(k+len(b))).
		from, to := (8*k+5)/6, 8*(k+len(b))/6
		if to-from < 1 {
			continue
		}
		inner := enc[from:to]
		out = append(out, inner, base64URL(inner))
	}
	return out
}

// base64URL is the URL alphabet's form of a standard base64 text.
func base64URL(s string) string {
	return strings.NewReplacer("+", "-", "/", "_").Replace(s)
}

// jsonUnicodeEscaped is v as the inside of a JSON string written with \u escapes: for
// every character (all), or as encoders that keep their output ASCII write it (Python's
// json.dumps, jq -a): the usual escapes for quotes, backslashes and control characters,
// \uXXXX (UTF-16, surrogate pairs above U+FFFF) for every non-ASCII character.
func jsonUnicodeEscaped(v string, all, upper bool) string {
	format := "\\u%04x"
	if upper {
		format = "\\u%04X"
	}
	var sb strings.Builder
	unit := func(r rune) { fmt.Fprintf(&sb, format, r) }
	for _, r := range v {
		switch {
		case r == utf8.RuneError:
			sb.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			unit(0xD800 + (r >> 10))
			unit(0xDC00 + (r & 0x3FF))
		case all || r > 0x7E || r < 0x20:
			if !all {
				if e, ok := shortEscapes[r]; ok {
					sb.WriteString(e)
					continue
				}
			}
			unit(r)
		case r == '"' || r == '\\':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// shortEscapes are the two-character escapes of JSON that ASCII encoders use.
var shortEscapes = map[rune]string{'\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`}

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

// walkNumbers calls f with every number in v (maps, lists), as JSON writes it. A
// credentials object may hold an account number or a PIN as a number. Booleans and null
// are not masked: a boolean carries one bit, which no masking hides, and masking every
// "true" and "false" would make the logs unreadable.
func walkNumbers(v any, f func(string)) {
	switch t := v.(type) {
	case json.Number:
		f(t.String())
	case float64:
		f(strconv.FormatFloat(t, 'f', -1, 64))
	case int:
		f(strconv.Itoa(t))
	case int64:
		f(strconv.FormatInt(t, 10))
	case map[string]any:
		for _, x := range t {
			walkNumbers(x, f)
		}
	case []any:
		for _, x := range t {
			walkNumbers(x, f)
		}
	}
}

func (r *redactor) mask(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
