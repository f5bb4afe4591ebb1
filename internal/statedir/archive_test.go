package statedir

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestArchive_RoundTrip(t *testing.T) {
	src := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(src, "a/b"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "count"), []byte("2"), 0o600))
	must(t, os.WriteFile(filepath.Join(src, "a/b/run.sh"), []byte("#!/bin/sh\n"), 0o755))
	data, err := Archive(src)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Archive(src)
	if !bytes.Equal(data, again) {
		t.Error("archiving an unchanged directory gave different bytes")
	}
	dst := t.TempDir()
	if err := Extract(data, dst); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dst, "count"))
	if string(b) != "2" {
		t.Errorf("count = %q", b)
	}
	fi, err := os.Stat(filepath.Join(dst, "a/b/run.sh"))
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", fi, err)
	}
}

func TestArchive_RefusesSymlinksAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	must(t, os.Symlink("/etc/passwd", filepath.Join(dir, "link")))
	_, err := Archive(dir)
	var ue *UnsupportedFileError
	if !errors.As(err, &ue) || ue.Kind != "symlink" || !strings.HasSuffix(ue.Path, "/link") {
		t.Fatalf("got %v", err)
	}
	dir = t.TempDir()
	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600))
	if _, err := Archive(dir); !errors.As(err, &ue) || ue.Kind != "named pipe" {
		t.Fatalf("got %v", err)
	}
}

func TestExtract_RefusesEscapes(t *testing.T) {
	var buf bytes.Buffer
	// An archive made by hand whose entry climbs out of the directory.
	writeTarGz(t, &buf, "../escape", "x")
	if err := Extract(buf.Bytes(), t.TempDir()); err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("got %v", err)
	}
}

func writeTarGz(t *testing.T, w io.Writer, name, content string) {
	t.Helper()
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte(content))
	_ = tw.Close()
	_ = gz.Close()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
