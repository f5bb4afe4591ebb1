package main

import (
	"testing"
)

func TestTailBuffer(t *testing.T) {
	tb := newTailBuffer(16)
	for _, s := range []string{"line one\n", "line two\n", "line three\n"} {
		if _, err := tb.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := tb.String(), "[...]\nline three\n"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
	short := newTailBuffer(100)
	_, _ = short.Write([]byte("all of it"))
	if got := short.String(); got != "all of it" {
		t.Errorf("tail = %q, want everything", got)
	}
	if got, want := stripANSI("\x1b[31mError:\x1b[0m \x1b[1mbad\x1b[0m\x1b]8;;http://x\x07link"), "Error: badlink"; got != want {
		t.Errorf("stripANSI = %q, want %q", got, want)
	}
}
