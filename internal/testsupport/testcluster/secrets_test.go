package testcluster

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func TestSecretForms_EachDecodesBack(t *testing.T) {
	const v = `p&ss<w>rd "q" /é+?`
	f := SecretForms(v)
	decode := map[string]func(string) (string, error){
		"raw": func(s string) (string, error) { return s, nil },
		"base64": func(s string) (string, error) {
			b, err := base64.RawStdEncoding.DecodeString(s)
			return string(b), err
		},
		"base64url": func(s string) (string, error) {
			b, err := base64.RawURLEncoding.DecodeString(s)
			return string(b), err
		},
		"json": func(s string) (string, error) {
			var out string
			err := json.Unmarshal([]byte(`"`+s+`"`), &out)
			return out, err
		},
		"json-plain": func(s string) (string, error) {
			var out string
			err := json.Unmarshal([]byte(`"`+s+`"`), &out)
			return out, err
		},
		"urlencoded": url.QueryUnescape,
		"urlpath":    url.PathUnescape,
	}
	if len(f) != len(decode) {
		t.Errorf("forms %v, want %d", f, len(decode))
	}
	for name, dec := range decode {
		enc, ok := f[name]
		if !ok {
			t.Errorf("form %s missing", name)
			continue
		}
		if got, err := dec(enc); err != nil || got != v {
			t.Errorf("%s = %q decodes to %q, %v", name, enc, got, err)
		}
	}
	// The two JSON forms differ in escaping <, > and &, and neither is the raw value.
	if !strings.Contains(f["json"], `\u003c`) || strings.Contains(f["json-plain"], `\u003c`) || !strings.Contains(f["json-plain"], `<`) {
		t.Errorf("json %q, json-plain %q", f["json"], f["json-plain"])
	}
	// Unpadded base64: the padded forms a runner may print contain it.
	if strings.HasSuffix(f["base64"], "=") {
		t.Errorf("base64 %q is padded", f["base64"])
	}
}
