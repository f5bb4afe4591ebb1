package contract

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEnvFile_VariableThenSharedDirectory(t *testing.T) {
	env := map[string]string{}
	file := Env(func(k string) string { return env[k] }).File
	if got := file(EnvErrorFile, ErrorFile); got != "" {
		t.Errorf("neither set: %q, want empty", got)
	}
	env[EnvScriptsDirectory] = "/workspace"
	if got := file(EnvErrorFile, ErrorFile); got != "/workspace/error.txt" {
		t.Errorf("shared directory only: %q", got)
	}
	env[EnvErrorFile] = "/elsewhere/err"
	if got := file(EnvErrorFile, ErrorFile); got != "/elsewhere/err" {
		t.Errorf("variable set: %q", got)
	}
	// A file no variable names is always in the shared directory.
	env[""] = "/never"
	if got := file("", StateRestoredFile); got != "/workspace/.containerdriver-state-restored" {
		t.Errorf("no variable: %q", got)
	}
}

func TestChunks_SizesAndOrder(t *testing.T) {
	if got := Chunks(nil, 4); len(got) != 1 || len(got[0]) != 0 {
		t.Errorf("empty input: %q, want one empty chunk", got)
	}
	got := Chunks([]byte("abcdefghij"), 4)
	if want := []string{"abcd", "efgh", "ij"}; len(got) != len(want) {
		t.Fatalf("chunks %q, want %q", got, want)
	} else {
		for i := range want {
			if string(got[i]) != want[i] {
				t.Errorf("chunk %d = %q, want %q", i, got[i], want[i])
			}
		}
	}
}

func TestTextChunks_KeepCharactersWhole(t *testing.T) {
	text := []byte(strings.Repeat("aé€😀", 50))
	for size := utf8.UTFMax; size < 20; size++ {
		chunks := TextChunks(text, size)
		if joined := bytes.Join(chunks, nil); !bytes.Equal(joined, text) {
			t.Fatalf("size %d: chunks do not join back to the input", size)
		}
		for i, c := range chunks {
			if len(c) > size || !utf8.Valid(c) {
				t.Errorf("size %d: chunk %d %q is too long or splits a character", size, i, c)
			}
		}
	}
	// Binary data is cut at the size exactly: a state archive is not text.
	if c := Chunks([]byte("é"), 1); len(c) != 2 {
		t.Errorf("Chunks cut by characters: %q", c)
	}
}
