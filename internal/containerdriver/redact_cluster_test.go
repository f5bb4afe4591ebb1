package containerdriver_test

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	cd "github.com/containerdriver/terraform-provider-containerdriver/internal/containerdriver"
	"github.com/containerdriver/terraform-provider-containerdriver/internal/contract"
)

// encodedFormNames are the lines the test runner's print_encoded and fail_encoded_env
// write for each secret (internal/testsupport/testrunner/encoded.go).
var encodedFormNames = []string{"hex", "HEX", "json-ascii", "json-u-all",
	"base64-after-1-bytes", "base64url-after-1-bytes", "base64-after-2-bytes", "base64url-after-2-bytes",
	"base64-after-4-bytes", "base64url-after-4-bytes"}

// encodedLeaks reports, for every line of text that holds a secret in a form the test
// runner writes, which secret and which form: the value found by decoding each word
// after "=" as hex, JSON \u escapes, or base64 in either alphabet.
func encodedLeaks(text string, secrets map[string]string) []string {
	var found []string
	uEscape := regexp.MustCompile(`\\u[0-9a-fA-F]{4}`)
	decoders := map[string]func(string) ([]byte, error){
		"hex":       hex.DecodeString,
		"base64":    base64.StdEncoding.DecodeString,
		"base64raw": base64.RawStdEncoding.DecodeString,
		"base64url": base64.RawURLEncoding.DecodeString,
		"json \\u": func(s string) ([]byte, error) {
			var sb strings.Builder
			units := []uint16{}
			flush := func() {
				for _, r := range utf16Decode(units) {
					sb.WriteRune(r)
				}
				units = units[:0]
			}
			rest := s
			for rest != "" {
				if loc := uEscape.FindStringIndex(rest); loc != nil && loc[0] == 0 {
					var u uint16
					_, _ = fmt.Sscanf(rest[2:6], "%04x", &u)
					units = append(units, u)
					rest = rest[6:]
					continue
				}
				flush()
				if strings.HasPrefix(rest, `\"`) || strings.HasPrefix(rest, `\\`) {
					rest = rest[1:]
				}
				sb.WriteByte(rest[0])
				rest = rest[1:]
			}
			flush()
			return []byte(sb.String()), nil
		},
	}
	for _, line := range strings.Split(text, "\n") {
		for _, word := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '=' || r == '\t' }) {
			for name, secret := range secrets {
				for dec, f := range decoders {
					if b, err := f(word); err == nil && strings.Contains(string(b), secret) {
						found = append(found, fmt.Sprintf("%s (%s) in %q", name, dec, line))
					}
				}
			}
		}
	}
	return found
}

func utf16Decode(units []uint16) []rune {
	var out []rune
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		if u >= 0xD800 && u < 0xDC00 && i+1 < len(units) {
			out = append(out, 0x10000+(u-0xD800)<<10+(rune(units[i+1])-0xDC00))
			i++
			continue
		}
		out = append(out, u)
	}
	return out
}

// A hostile runner prints its secrets as hex, with JSON \u escapes and inside longer
// base64 texts at offsets that are not multiples of three, and writes them so to its
// error file (issue 23, item 6): every form is masked in the streamed log, in the error
// the user sees (its error file, log tails and the runner's status).
func TestAccExecutor_EncodedSecretsMasked(t *testing.T) {
	t.Parallel()
	e := setup(t)
	secrets := map[string]string{
		"ascii secret":     "tok-C4NARY-Encoded-x",
		"non-ascii secret": "pässwörd-C4NARY-ü",
	}
	spec := e.spec(t, map[string]any{
		"print_encoded":    []string{"SECRET_A", "SECRET_U"},
		"fail":             "failing as asked:",
		"fail_encoded_env": []string{"SECRET_A", "SECRET_U"},
	})
	spec.Job.SecretVariables = map[string]string{"SECRET_A": secrets["ascii secret"], "SECRET_U": secrets["non-ascii secret"]}
	_, rec, err := e.run(t, spec, contract.ActionCreate)
	var re *cd.RunError
	if !errors.As(err, &re) {
		t.Fatalf("a failing run returned %v, want a RunError", err)
	}
	if re.Runner == nil {
		t.Fatalf("the run error has no runner status: %v", err)
	}
	places := map[string]string{
		"the streamed log":              strings.Join(rec.lines, "\n"),
		"the run's error and its tails": err.Error() + "\n" + re.Detail(),
		"the runner's status":           re.Runner.Message,
	}
	for where, text := range places {
		for _, leak := range encodedLeaks(text, secrets) {
			t.Errorf("%s shows the %s", where, leak)
		}
	}
	// The test sees what it looks for: every form's line reached each place, masked.
	for _, where := range []string{"the streamed log", "the run's error and its tails"} {
		for _, env := range []string{"SECRET_A", "SECRET_U"} {
			for _, form := range encodedFormNames {
				line := regexp.MustCompile(`env:` + env + ` ` + form + `=\S*\(sensitive value\)`)
				if !line.MatchString(places[where]) {
					t.Errorf("%s has no masked line for env:%s %s:\n%s", where, env, form, places[where])
				}
			}
		}
	}
	if !strings.Contains(re.ErrorFile, "failing as asked:") {
		t.Errorf("the error file is not in the run error: %q", re.ErrorFile)
	}
}
