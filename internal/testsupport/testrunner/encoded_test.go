package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// The forms must be what they say: each decodes back to a text holding the value.

func TestJSONEscape_DecodesBack(t *testing.T) {
	for _, v := range []string{`plain-ASCII`, `quote " and \ backslash`, "ctl\x01\n", "é ü", "emoji 😀"} {
		for _, all := range []bool{false, true} {
			esc := jsonEscape(v, all)
			var back string
			if err := json.Unmarshal([]byte(`"`+esc+`"`), &back); err != nil || back != v {
				t.Errorf("jsonEscape(%q, %v) = %q decodes to %q, %v", v, all, esc, back, err)
			}
			if all {
				// every character escaped: only \uXXXX (hex digits and the u) remain
				for _, r := range esc {
					if !strings.ContainsRune(`\u0123456789abcdef`, r) {
						t.Errorf("jsonEscape(%q, all) = %q keeps %q", v, esc, r)
						break
					}
				}
			}
		}
	}
	if got := jsonEscape("aé", false); got != `a\u00e9` {
		t.Errorf("ASCII escapes: %q", got)
	}
	if got := jsonEscape("😀", false); got != `\ud83d\ude00` {
		t.Errorf("a surrogate pair: %q", got)
	}
}

func TestEncodedForms_EachHoldsTheValue(t *testing.T) {
	const v = "s3cr3t-Välue"
	forms := encodedForms(v)
	seen := map[string]bool{}
	for _, f := range forms {
		name, enc, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("form %q has no name", f)
		}
		seen[name] = true
		var decoded string
		switch {
		case name == "hex" || name == "HEX":
			b, err := hex.DecodeString(enc)
			if err != nil {
				t.Fatal(err)
			}
			decoded = string(b)
			if (name == "HEX") != (enc == strings.ToUpper(enc)) {
				t.Errorf("%s has the wrong case: %s", name, enc)
			}
		case strings.HasPrefix(name, "json-"):
			if err := json.Unmarshal([]byte(`"`+enc+`"`), &decoded); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(name, "base64url-"):
			b, err := base64.RawURLEncoding.DecodeString(enc)
			if err != nil {
				t.Fatal(err)
			}
			decoded = string(b)
		case strings.HasPrefix(name, "base64-"):
			b, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				t.Fatal(err)
			}
			decoded = string(b)
		default:
			t.Errorf("unknown form %s", name)
		}
		if !strings.Contains(decoded, v) {
			t.Errorf("%s decodes to %q, without the value", name, decoded)
		}
		if strings.Contains(enc, v) {
			t.Errorf("%s shows the value as it is", name)
		}
	}
	for _, n := range []string{"hex", "HEX", "json-ascii", "json-u-all", "base64-after-1-bytes", "base64-after-2-bytes", "base64-after-4-bytes", "base64url-after-1-bytes"} {
		if !seen[n] {
			t.Errorf("form %s missing", n)
		}
	}
}

func TestFailEncodedText_OneLinePerForm(t *testing.T) {
	t.Setenv("TESTRUNNER_SECRET", "value-1234")
	got := failEncodedText([]string{"TESTRUNNER_SECRET"})
	lines := strings.Split(strings.TrimPrefix(got, "\n"), "\n")
	if len(lines) != len(encodedForms("value-1234")) {
		t.Fatalf("%d lines, want one per form:\n%s", len(lines), got)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "env:TESTRUNNER_SECRET ") {
			t.Errorf("line %q does not name the variable", l)
		}
	}
}
