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

// A runner can leave links in STATE_PATH to what only the sidecar can read (its token):
// the save is refused, naming the file, and nothing of the target is archived.
func TestArchive_RefusesSymlinksAndSpecialFiles(t *testing.T) {
	secretDir := t.TempDir()
	token := filepath.Join(secretDir, "token")
	must(t, os.WriteFile(token, []byte("sidecar-token"), 0o600))
	for _, c := range []struct {
		name, kind, path string
		plant            func(dir string) error
	}{
		{"symlink to a file outside", "symbolic link", "link", func(dir string) error { return os.Symlink(token, filepath.Join(dir, "link")) }},
		{"symlink to a file inside", "symbolic link", "link", func(dir string) error { return os.Symlink("count", filepath.Join(dir, "link")) }},
		{"symlink to a directory outside", "symbolic link", "sub/dir", func(dir string) error {
			return errors.Join(os.Mkdir(filepath.Join(dir, "sub"), 0o755), os.Symlink(secretDir, filepath.Join(dir, "sub/dir")))
		}},
		{"hard link", "hard link (2 names share its content)", "count", func(dir string) error {
			return os.Link(filepath.Join(dir, "count"), filepath.Join(dir, "count-too"))
		}},
		{"named pipe", "named pipe", "pipe", func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "count"), []byte("2"), 0o600))
			must(t, c.plant(dir))
			data, err := Archive(dir)
			var ue *UnsupportedFileError
			if !errors.As(err, &ue) || ue.Kind != c.kind || ue.Path != filepath.Join(dir, c.path) {
				t.Fatalf("got %v (%d bytes archived), want %s refused as a %s", err, len(data), c.path, c.kind)
			}
			if msg := err.Error(); !strings.Contains(msg, "the state was not saved") || strings.Contains(msg, secretDir) {
				t.Errorf("error %q: want it to say the state was not saved, without the link's target", msg)
			}
		})
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

// tarEntry is one entry of a crafted archive.
type tarEntry struct {
	name     string
	typeflag byte
	content  string
	link     string
}

func craftTarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.content)), Linkname: e.link}
		if e.typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		must(t, tw.WriteHeader(hdr))
		if hdr.Size > 0 {
			_, err := tw.Write([]byte(e.content))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, gz.Close())
	return buf.Bytes()
}

// A crafted saved state (whoever may write the run's state Secrets can craft one) writes
// nothing outside STATE_PATH: not by a name that climbs out or is absolute, not through a
// link the archive carries, and not through a link already in the directory, inside the
// path or as the file itself. Every such archive fails, and the directory beside
// STATE_PATH, with a file in it, is left as it was.
func TestExtract_CraftedArchivesStayInside(t *testing.T) {
	for _, c := range []struct {
		name    string
		plant   func(dir, outside string) error // what is in STATE_PATH before
		entries func(outside string) []tarEntry
	}{
		{"name climbing out", nil, func(string) []tarEntry {
			return []tarEntry{{name: "../outside/planted", typeflag: tar.TypeReg, content: "x"}}
		}},
		{"name climbing out through a sub directory", nil, func(string) []tarEntry {
			return []tarEntry{{name: "a/../../outside/planted", typeflag: tar.TypeReg, content: "x"}}
		}},
		{"absolute name", nil, func(outside string) []tarEntry {
			return []tarEntry{{name: filepath.ToSlash(filepath.Join(outside, "planted")), typeflag: tar.TypeReg, content: "x"}}
		}},
		{"directory climbing out", nil, func(string) []tarEntry {
			return []tarEntry{{name: "../outside/planted/", typeflag: tar.TypeDir}}
		}},
		{"symbolic link entry, then a file through it", nil, func(outside string) []tarEntry {
			return []tarEntry{
				{name: "link", typeflag: tar.TypeSymlink, link: outside},
				{name: "link/planted", typeflag: tar.TypeReg, content: "x"},
			}
		}},
		{"hard link entry to a file outside", nil, func(outside string) []tarEntry {
			return []tarEntry{{name: "victim", typeflag: tar.TypeLink, link: filepath.ToSlash(filepath.Join(outside, "victim"))}}
		}},
		{"link to a directory outside, already there", func(dir, outside string) error {
			return os.Symlink(outside, filepath.Join(dir, "out"))
		}, func(string) []tarEntry {
			return []tarEntry{{name: "out/planted", typeflag: tar.TypeReg, content: "x"}}
		}},
		{"relative link climbing out, already there", func(dir, _ string) error {
			return os.Symlink("../outside", filepath.Join(dir, "out"))
		}, func(string) []tarEntry {
			return []tarEntry{{name: "out/victim", typeflag: tar.TypeReg, content: "overwritten"}}
		}},
		{"link to a file outside, already there", func(dir, outside string) error {
			return os.Symlink(filepath.Join(outside, "victim"), filepath.Join(dir, "victim"))
		}, func(string) []tarEntry {
			return []tarEntry{{name: "victim", typeflag: tar.TypeReg, content: "overwritten"}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir, outside := filepath.Join(parent, "state"), filepath.Join(parent, "outside")
			must(t, os.Mkdir(dir, 0o755))
			must(t, os.Mkdir(outside, 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "victim"), []byte("original"), 0o644))
			if c.plant != nil {
				must(t, c.plant(dir, outside))
			}
			err := Extract(craftTarGz(t, c.entries(outside)...), dir)
			if err == nil {
				t.Error("the crafted archive was extracted without an error")
			}
			entries, rerr := os.ReadDir(outside)
			must(t, rerr)
			if len(entries) != 1 || entries[0].Name() != "victim" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("the directory beside STATE_PATH holds %v, want only victim", names)
			}
			if b, _ := os.ReadFile(filepath.Join(outside, "victim")); string(b) != "original" {
				t.Errorf("a file outside STATE_PATH was overwritten: %q", b)
			}
		})
	}
}
