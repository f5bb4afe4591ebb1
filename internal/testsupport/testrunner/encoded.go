package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// The masking-gap behaviours of issue 23: a runner that prints a secret, and reports it
// in its error file, in encodings that a simple search for the value does not find.

// encodedForms is v as hex (lower and upper case), as the inside of a JSON string with
// \u escapes (as Python's json.dumps writes non-ASCII text, and every character escaped),
// and inside longer base64 texts that put it at offsets 1 and 2 modulo 3, in both
// alphabets, one per line, each line named.
func encodedForms(v string) []string {
	var out []string
	add := func(name, s string) { out = append(out, name+"="+s) }
	add("hex", hex.EncodeToString([]byte(v)))
	add("HEX", strings.ToUpper(hex.EncodeToString([]byte(v))))
	add("json-ascii", jsonEscape(v, false))
	add("json-u-all", jsonEscape(v, true))
	for _, prefix := range []string{"a", "ab", "abcd"} {
		stream := []byte(prefix + v + "~and what follows")
		add(fmt.Sprintf("base64-after-%d-bytes", len(prefix)), base64.StdEncoding.EncodeToString(stream))
		add(fmt.Sprintf("base64url-after-%d-bytes", len(prefix)), base64.RawURLEncoding.EncodeToString(stream))
	}
	return out
}

// jsonEscape writes v as the inside of a JSON string with \u escapes: for every
// character (all), or for every character outside printable ASCII, as Python's
// json.dumps(ensure_ascii=True) does.
func jsonEscape(v string, all bool) string {
	var b strings.Builder
	unit := func(r rune) { fmt.Fprintf(&b, `\u%04x`, r) }
	for _, r := range v {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(r)
		case r > 0xFFFF:
			r -= 0x10000
			unit(0xD800 + r>>10)
			unit(0xDC00 + r&0x3FF)
		case all || r < 0x20 || r > 0x7E:
			unit(r)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printEncoded prints the encodedForms of each environment variable named in names,
// one line each: "env:NAME hex=...".
func printEncoded(names []string) {
	for _, n := range names {
		for _, f := range encodedForms(os.Getenv(n)) {
			fmt.Printf("env:%s %s\n", n, f)
		}
	}
}

// failEncodedText is what fail_encoded_env appends to the error file: the encodedForms
// of those environment variables, one per line.
func failEncodedText(names []string) string {
	var b strings.Builder
	for _, n := range names {
		for _, f := range encodedForms(os.Getenv(n)) {
			fmt.Fprintf(&b, "\nenv:%s %s", n, f)
		}
	}
	return b.String()
}
