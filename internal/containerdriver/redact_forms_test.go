package containerdriver

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/outputs"
)

// encodedForms are the ways issue 23 saw a runner print a secret past the masking: hex
// (lower and upper case), JSON with \u escapes (as Python's json.dumps and jq -a write
// non-ASCII text, and with every character escaped), and inside a longer base64 text at
// each offset modulo 3, in both alphabets, padded or not. The JSON forms of the
// non-ASCII values are literals written by Python 3's json.dumps.
func encodedForms(t *testing.T, v string) map[string]string {
	t.Helper()
	forms := map[string]string{
		"hex":     hex.EncodeToString([]byte(v)),
		"HEX":     strings.ToUpper(hex.EncodeToString([]byte(v))),
		"\\u all": "",
		"\\U all": "",
		"json.dumps": map[string]string{
			"pässwörd-1234":  `p\u00e4ssw\u00f6rd-1234`,
			"key-😀-9\"x":     `key-\ud83d\ude00-9\"x`,
			"tok-ABCdef-987": `tok-ABCdef-987`,
		}[v],
	}
	var lower, upper strings.Builder
	for _, u := range utf16Units(v) {
		fmt.Fprintf(&lower, `\u%04x`, u)
		fmt.Fprintf(&upper, `\u%04X`, u)
	}
	forms["\\u all"], forms["\\U all"] = lower.String(), upper.String()
	if forms["json.dumps"] == "" {
		t.Fatalf("no json.dumps literal for %q", v)
	}
	// Inside a longer base64 text: 0 to 5 bytes before, some after (whose first bits are not zero, as the padding bits of the secret alone are).
	for before := 0; before < 6; before++ {
		stream := append(append([]byte(strings.Repeat("P", before)), v...), "~and what follows"...)
		for name, enc := range map[string]*base64.Encoding{
			"std": base64.StdEncoding, "raw std": base64.RawStdEncoding, "url": base64.URLEncoding, "raw url": base64.RawURLEncoding,
		} {
			forms[fmt.Sprintf("base64 %s, %d bytes in", name, before)] = enc.EncodeToString(stream)
		}
	}
	return forms
}

func utf16Units(v string) []rune {
	var out []rune
	for _, r := range v {
		if r > 0xFFFF {
			r -= 0x10000
			out = append(out, 0xD800+(r>>10), 0xDC00+(r&0x3FF))
			continue
		}
		out = append(out, r)
	}
	return out
}

// leaks reports whether masked still shows the secret in the given form: the form
// itself, or, inside a base64 text, the secret when the masked text is decoded.
func leaks(masked, form, secret string) bool {
	if strings.Contains(masked, form) {
		return true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		for _, word := range strings.Fields(masked) {
			if b, err := enc.DecodeString(word); err == nil && strings.Contains(string(b), secret) {
				return true
			}
		}
	}
	return false
}

// Every encoded form of every kind of secret input is masked on each path text takes to
// a person: a log line, the error file, the termination message (the log's tail) and the
// runner's status.
func TestRedactor_EncodedForms(t *testing.T) {
	secrets := map[string]string{
		"secret variable": "tok-ABCdef-987",
		"secret file":     "pässwörd-1234",
		"credential":      "key-😀-9\"x",
	}
	spec := minimalSpec()
	spec.Job.SecretVariables = map[string]string{"T": secrets["secret variable"]}
	spec.SecretFiles = map[string]string{"f": secrets["secret file"]}
	spec.Credentials = map[string]any{"a": map[string]any{"b": secrets["credential"]}}
	red := newRedactor(spec)
	for input, v := range secrets {
		for form, text := range encodedForms(t, v) {
			line := "runner says " + text + " and more"
			if got := red.mask(line); leaks(got, text, v) || !strings.Contains(got, redactedText) {
				t.Errorf("%s as %s: log line %q masked to %q", input, form, line, got)
			}
			pod := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
				Name: contract.ContainerRunner, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: line}},
			}}}}
			// The error file.
			_, re := interpret(pod, &outputs.Harvest{ErrorText: line, ContractVersion: contract.Version}, nil, spec, red)
			if re == nil || leaks(re.ErrorFile, text, v) || leaks(re.Runner.Message, text, v) || !strings.Contains(re.ErrorFile, redactedText) {
				t.Errorf("%s as %s: run error %+v (runner %+v)", input, form, re, re.Runner)
			}
			// No error file: the termination message is the error's message.
			_, re = interpret(pod, &outputs.Harvest{ContractVersion: contract.Version}, nil, spec, red)
			if re == nil || leaks(re.Message, text, v) || !strings.Contains(re.Message, redactedText) {
				t.Errorf("%s as %s: run error message %+v", input, form, re)
			}
			// A succeeding run's status.
			pod.Status.Phase, pod.Status.ContainerStatuses[0].State.Terminated.ExitCode = corev1.PodSucceeded, 0
			res, re := interpret(pod, &outputs.Harvest{Outputs: []byte(`{}`), ContractVersion: contract.Version}, nil, spec, red)
			if re != nil || leaks(res.Runner.Message, text, v) || !strings.Contains(res.Runner.Message, redactedText) {
				t.Errorf("%s as %s: runner status %+v, error %v", input, form, res, re)
			}
		}
	}
}

// Numbers inside credentials are masked as JSON writes them; short values, booleans and
// null are not: a value that short (or one bit) cannot be masked without masking
// unrelated text, and the masking of short values stays as it was.
func TestRedactor_CredentialNumbers(t *testing.T) {
	spec := minimalSpec()
	var creds map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"acct":{"id":123456789012,"pin":48213,"ratio":0.5,"n":42,"on":true,"off":false,"none":null},"l":[987654321]}`))
	dec.UseNumber() // as the provider decodes credentials_json
	if err := dec.Decode(&creds); err != nil {
		t.Fatal(err)
	}
	spec.Credentials = creds
	spec.Job.SecretVariables = map[string]string{"SHORT": "abcd"}
	red := newRedactor(spec)
	for _, c := range []struct{ in, want string }{
		{"account 123456789012, pin 48213, list 987654321", "account (sensitive value), pin (sensitive value), list (sensitive value)"},
		{"hex of the account " + hex.EncodeToString([]byte("123456789012")), "hex of the account (sensitive value)"},
		{"ratio 0.5 n 42 on true off false none null", "ratio 0.5 n 42 on true off false none null"},
		{"the shortest secret abcd, as hex " + hex.EncodeToString([]byte("abcd")), "the shortest secret (sensitive value), as hex (sensitive value)"},
		{"count 1 region eu", "count 1 region eu"},
	} {
		if got := red.mask(c.in); got != c.want {
			t.Errorf("mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
