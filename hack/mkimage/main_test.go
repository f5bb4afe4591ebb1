package main

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "", want: nil},
		{in: "   ", want: nil},
		{in: "/bin/sh -c  true", want: []string{"/bin/sh", "-c", "true"}},
		{in: ` ["/bin/sh", "-c", "echo a b"]`, want: []string{"/bin/sh", "-c", "echo a b"}},
		{in: `["unterminated"`, err: true},
	} {
		got, err := words(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("words(%q) = %#v, %v; want %#v (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestPathMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		path string
		mode fs.FileMode
		err  string
	}{
		{in: "/usr/bin/tool", path: "/usr/bin/tool"},
		{in: "/tmp:1777", path: "/tmp", mode: 0o1777},
		{in: "/bin/x:0755", path: "/bin/x", mode: 0o755},
		{in: "/bin/x:4755", path: "/bin/x", mode: 0o4755},
		{in: "/bin/x:755:extra", err: `mode "755:extra"`},
		{in: "/bin/x:0999", err: `mode "0999": want octal`},
		{in: "/bin/x:17777", err: `mode "17777": want octal`},
		{in: "/bin/x:", err: `mode ""`},
	} {
		p, m, err := pathMode(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("pathMode(%q) err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || p != tc.path || m != tc.mode {
			t.Errorf("pathMode(%q) = %q, %#o, %v; want %q, %#o", tc.in, p, m, err, tc.path, tc.mode)
		}
	}
}
