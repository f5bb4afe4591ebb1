package imagebuild

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCleanImagePath(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "/etc/passwd", want: "etc/passwd"},
		{in: "/a//b/../c/", want: "a/c"},
		{in: "/a/../../b", want: "b"},
		{in: "relative", err: "must be absolute"},
		{in: "/", err: "names the root directory"},
		{in: "/a/..", err: "names the root directory"},
	} {
		got, err := cleanImagePath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("cleanImagePath(%q) err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("cleanImagePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestTarMode(t *testing.T) {
	for _, tc := range []struct {
		in   fs.FileMode
		want int64
	}{
		{0o644, 0o644},
		{0o755 | fs.ModeDir, 0o755},
		{0o755 | fs.ModeSetuid, 0o4755},
		{0o755 | fs.ModeSetgid, 0o2755},
		{0o777 | fs.ModeSticky, 0o1777},
		{0o1777, 0o1777}, // a plain octal number
		{0o4711, 0o4711},
	} {
		if got := tarMode(tc.in); got != tc.want {
			t.Errorf("tarMode(%v) = %#o, want %#o", tc.in, got, tc.want)
		}
	}
}

// layerEntries lists a layer as "name type mode uid:gid [-> target | = content]".
func layerEntries(t *testing.T, layer []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%s %c %#o %d:%d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid)
		switch h.Typeflag {
		case tar.TypeSymlink:
			s += " -> " + h.Linkname
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			s += " = " + string(b)
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: mod time %v", h.Name, h.ModTime)
		}
		out = append(out, s)
	}
}

func TestBuildLayer(t *testing.T) {
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "tool"), []byte("bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(host, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "sub", "f"), []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/f", filepath.Join(tree, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tree, 0o711); err != nil {
		t.Fatal(err)
	}
	layer, err := buildLayer(Spec{
		Dirs:     []Dir{{Path: "/tmp", Mode: 0o1777}, {Path: "/usr", UID: 5}},
		Symlinks: []Symlink{{Path: "/bin/sh", Target: "busybox"}},
		Files: []File{
			{Path: "/etc/app/conf", Content: []byte("c")},
			{Path: "/usr/bin/tool", Source: filepath.Join(host, "tool"), UID: 1, GID: 2},
			{Path: "/usr/bin/tool2", Source: filepath.Join(host, "tool"), Mode: 0o4755},
			{Path: "/opt/tree", Source: tree},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"bin/ 5 0755 0:0",
		"bin/sh 2 0777 0:0 -> busybox",
		"etc/ 5 0755 0:0",
		"etc/app/ 5 0755 0:0",
		"etc/app/conf 0 0644 0:0 = c",
		"opt/ 5 0755 0:0",
		"opt/tree/ 5 0711 0:0",
		"opt/tree/link 2 0777 0:0 -> sub/f",
		"opt/tree/sub/ 5 0750 0:0",
		"opt/tree/sub/f 0 0640 0:0 = x",
		"tmp/ 5 01777 0:0",
		"usr/ 5 0755 5:0", // the explicit directory wins over the implied parent
		"usr/bin/ 5 0755 0:0",
		"usr/bin/tool 0 0700 1:2 = bin",
		"usr/bin/tool2 0 04755 0:0 = bin",
	}
	if d := cmp.Diff(want, layerEntries(t, layer)); d != "" {
		t.Errorf("layer (-want +got)\n%s", d)
	}
}

func TestBuildLayer_Conflicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec Spec
		err  string
	}{
		{
			name: "a path given twice",
			spec: Spec{Files: []File{{Path: "/a", Content: []byte("1")}, {Path: "/a", Content: []byte("2")}}},
			err:  "file /a: /a is given twice",
		},
		{
			name: "an implied directory becomes a file",
			spec: Spec{Files: []File{{Path: "/a/b", Content: []byte("1")}, {Path: "/a", Content: []byte("2")}}},
			err:  "file /a: /a is already a directory of another entry",
		},
		{
			name: "a file as a parent",
			spec: Spec{Symlinks: []Symlink{{Path: "/a", Target: "x"}}, Files: []File{{Path: "/a/b", Content: []byte("1")}}},
			err:  "file /a/b: parent /a is not a directory",
		},
		{
			name: "empty symlink target",
			spec: Spec{Symlinks: []Symlink{{Path: "/a"}}},
			err:  "symlink /a: empty target",
		},
		{
			name: "relative dir",
			spec: Spec{Dirs: []Dir{{Path: "tmp"}}},
			err:  `image path "tmp" must be absolute`,
		},
		{
			name: "missing source",
			spec: Spec{Files: []File{{Path: "/a", Source: "/nonexistent/containerdriver"}}},
			err:  "file /a: stat /nonexistent/containerdriver",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := buildLayer(tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
		})
	}
}

func TestBuildLayer_TwoDirsExplicitWins(t *testing.T) {
	// The order of the Spec does not matter: an explicit directory is never replaced by an
	// implied parent, and an implied parent is replaced by an explicit one.
	layer, err := buildLayer(Spec{
		Dirs:  []Dir{{Path: "/a/b"}, {Path: "/a", Mode: 0o700}, {Path: "/d", Mode: 0o700}, {Path: "/d", Mode: 0o750}},
		Files: []File{{Path: "/a/c", Content: nil}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// /d twice: the later explicit directory wins.
	want := []string{"a/ 5 0700 0:0", "a/b/ 5 0755 0:0", "a/c 0 0644 0:0 = ", "d/ 5 0750 0:0"}
	if d := cmp.Diff(want, layerEntries(t, layer)); d != "" {
		t.Errorf("layer (-want +got)\n%s", d)
	}
}
