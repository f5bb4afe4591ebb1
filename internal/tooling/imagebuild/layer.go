package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// entry is one item of the layer, keyed by its clean path without the leading slash.
type entry struct {
	typ      byte
	mode     int64
	uid, gid int
	target   string // symlink target
	src      string // host file to copy
	content  []byte
	explicit bool // a directory the Spec asked for (not only a parent)
}

func cleanImagePath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("image path %q must be absolute", p)
	}
	c := strings.TrimPrefix(path.Clean(p), "/")
	if c == "" {
		return "", fmt.Errorf("image path %q names the root directory", p)
	}
	return c, nil
}

type layerBuilder struct {
	entries map[string]*entry
}

func (b *layerBuilder) add(name string, e *entry, what string) error {
	if old, ok := b.entries[name]; ok {
		switch {
		case old.typ == tar.TypeDir && e.typ == tar.TypeDir:
			if e.explicit || !old.explicit {
				b.entries[name] = e
			}
			return nil
		case old.typ == tar.TypeDir && !old.explicit:
			// An implied parent directory cannot become a file.
			return fmt.Errorf("%s: /%s is already a directory of another entry", what, name)
		default:
			return fmt.Errorf("%s: /%s is given twice", what, name)
		}
	}
	b.entries[name] = e
	return b.parents(name, what)
}

// parents creates the missing parent directories of name.
func (b *layerBuilder) parents(name, what string) error {
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if old, ok := b.entries[d]; ok {
			if old.typ != tar.TypeDir {
				return fmt.Errorf("%s: parent /%s is not a directory", what, d)
			}
			continue
		}
		b.entries[d] = &entry{typ: tar.TypeDir, mode: 0o755}
	}
	return nil
}

func buildLayer(spec Spec) ([]byte, error) {
	b := &layerBuilder{entries: map[string]*entry{}}
	for _, d := range spec.Dirs {
		name, err := cleanImagePath(d.Path)
		if err != nil {
			return nil, err
		}
		mode := tarMode(d.Mode)
		if d.Mode == 0 {
			mode = 0o755
		}
		if err := b.add(name, &entry{typ: tar.TypeDir, mode: mode, uid: d.UID, gid: d.GID, explicit: true}, "dir "+d.Path); err != nil {
			return nil, err
		}
	}
	for _, s := range spec.Symlinks {
		name, err := cleanImagePath(s.Path)
		if err != nil {
			return nil, err
		}
		if s.Target == "" {
			return nil, fmt.Errorf("symlink %s: empty target", s.Path)
		}
		if err := b.add(name, &entry{typ: tar.TypeSymlink, mode: 0o777, target: s.Target}, "symlink "+s.Path); err != nil {
			return nil, err
		}
	}
	for _, f := range spec.Files {
		if err := b.addFile(f); err != nil {
			return nil, err
		}
	}

	names := make([]string, 0, len(b.entries))
	for n := range b.entries {
		names = append(names, n)
	}
	// Lexical order puts every directory before its children ("a" < "a/b").
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		e := b.entries[n]
		h := &tar.Header{Typeflag: e.typ, Name: n, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: epoch, Format: tar.FormatPAX}
		switch e.typ {
		case tar.TypeDir:
			h.Name += "/"
		case tar.TypeSymlink:
			h.Linkname = e.target
		case tar.TypeReg:
			data := e.content
			if e.src != "" {
				var err error
				if data, err = os.ReadFile(e.src); err != nil {
					return nil, err
				}
			}
			h.Size = int64(len(data))
			if err := tw.WriteHeader(h); err != nil {
				return nil, err
			}
			if _, err := tw.Write(data); err != nil {
				return nil, err
			}
			continue
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// tarMode turns permission, setuid/setgid and sticky bits into tar's numeric mode.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	// Callers may also pass a plain octal number such as 01777 where the sticky bit is
	// 0o1000 rather than fs.ModeSticky.
	mode |= int64(m) & 0o7000
	return mode
}

func (b *layerBuilder) addFile(f File) error {
	name, err := cleanImagePath(f.Path)
	if err != nil {
		return err
	}
	what := "file " + f.Path
	if f.Source == "" {
		mode := tarMode(f.Mode)
		if f.Mode == 0 {
			mode = 0o644
		}
		return b.add(name, &entry{typ: tar.TypeReg, mode: mode, uid: f.UID, gid: f.GID, content: f.Content}, what)
	}
	fi, err := os.Stat(f.Source)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if fi.Mode().IsRegular() {
		mode := tarMode(f.Mode)
		if f.Mode == 0 {
			mode = tarMode(fi.Mode())
		}
		return b.add(name, &entry{typ: tar.TypeReg, mode: mode, uid: f.UID, gid: f.GID, src: f.Source}, what)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: %s is neither a regular file nor a directory", what, f.Source)
	}
	return filepath.WalkDir(f.Source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(f.Source, p)
		if err != nil {
			return err
		}
		target := name
		if rel != "." {
			target = path.Join(name, filepath.ToSlash(rel))
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := &entry{uid: f.UID, gid: f.GID, mode: tarMode(info.Mode())}
		switch {
		case info.IsDir():
			e.typ, e.explicit = tar.TypeDir, true
		case info.Mode()&fs.ModeSymlink != 0:
			if e.target, err = os.Readlink(p); err != nil {
				return err
			}
			e.typ, e.mode = tar.TypeSymlink, 0o777
		case info.Mode().IsRegular():
			e.typ, e.src = tar.TypeReg, p
		default:
			return fmt.Errorf("%s: %s is a special file, which images built here cannot hold", what, p)
		}
		return b.add(target, e, what)
	})
}
