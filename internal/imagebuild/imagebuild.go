// Package imagebuild writes container images as docker-archive tarballs (the format of
// "docker save", read by "ctr images import" and "docker load") from files on the host,
// without a Docker engine or a registry. It uses the standard library only.
//
// The output is deterministic: the same Spec and the same file contents give the same
// bytes (every timestamp is the Unix epoch, entries are sorted, owners are numeric), so
// an image's ID changes only when its content does.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// DefaultPath is added to the image's environment when neither the Spec nor the base
// image sets PATH: images built here have no shell profile to set one.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// epoch is every timestamp written, so that output depends on content only.
var epoch = time.Unix(0, 0).UTC()

// Spec describes an image: one layer made of Files, Dirs and Symlinks on top of the
// layers of an optional Base image, and the image configuration.
type Spec struct {
	// Ref names the image, e.g. "containerdriver.local/my-runner:1". It must have a
	// registry host with a dot (or "localhost"): a bare name is normalised to docker.io
	// by containerd and the kubelet would try to pull it.
	Ref string
	// Base is an optional docker-archive tarball (e.g. from "docker save"). Its layers
	// come first and its configuration is the starting point for the fields below.
	Base string

	Files    []File
	Dirs     []Dir
	Symlinks []Symlink

	// Entrypoint replaces the base image's entrypoint when set; as in a Dockerfile,
	// setting it also clears the base image's Cmd unless Cmd is set too.
	Entrypoint []string
	Cmd        []string
	// Env entries ("NAME=value") override the base image's variables of the same name.
	Env        []string
	User       string
	WorkingDir string
	Labels     map[string]string
}

// File puts a host file, a host directory (copied recursively) or literal content at
// Path in the image.
type File struct {
	Path string // absolute path in the image
	// Source is a host path. A directory is copied with everything below it, keeping
	// modes and symbolic links. Empty means Content.
	Source  string
	Content []byte
	// Mode sets the permission bits of a regular file (0 keeps the host file's bits,
	// or 0644 for Content). Directories copied from the host keep their own modes.
	Mode     fs.FileMode
	UID, GID int
}

// Dir creates a directory, e.g. {Path: "/tmp", Mode: 01777}. Parent directories of every
// entry are created with mode 0755 unless listed here.
type Dir struct {
	Path     string
	Mode     fs.FileMode
	UID, GID int
}

// Symlink creates a symbolic link at Path pointing to Target (taken literally, so a
// relative target such as "busybox" is relative to the link's directory).
type Symlink struct {
	Path, Target string
}

var refPattern = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+|localhost)(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// ValidateRef reports whether ref is a reference a local image can use: a registry host
// with a dot or "localhost", a lower-case repository path and an explicit tag.
func ValidateRef(ref string) error {
	if !refPattern.MatchString(ref) {
		return fmt.Errorf("image reference %q: want REGISTRY.WITH.DOT/NAME:TAG, e.g. containerdriver.local/my-runner:1 (a name without a dotted registry is pulled from docker.io)", ref)
	}
	return nil
}

// WriteFile writes the image to a tarball at name, replacing it atomically.
func WriteFile(name string, spec Spec) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".imagebuild-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, spec); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// Write writes the image as a docker-archive tarball to w.
func Write(w io.Writer, spec Spec) error {
	if err := ValidateRef(spec.Ref); err != nil {
		return err
	}
	var base *baseImage
	if spec.Base != "" {
		b, err := readBase(spec.Base)
		if err != nil {
			return fmt.Errorf("base image %s: %w", spec.Base, err)
		}
		base = b
	}
	layer, err := buildLayer(spec)
	if err != nil {
		return err
	}
	layerSum := sha256.Sum256(layer)
	layerHex := hex.EncodeToString(layerSum[:])

	config, err := buildConfig(spec, base, "sha256:"+layerHex)
	if err != nil {
		return err
	}
	configSum := sha256.Sum256(config)
	configName := hex.EncodeToString(configSum[:]) + ".json"

	var layers []string
	if base != nil {
		layers = append(layers, base.layers...)
	}
	layers = append(layers, layerHex+"/layer.tar")
	manifest, err := json.Marshal([]manifestEntry{{Config: configName, RepoTags: []string{spec.Ref}, Layers: layers}})
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	if base != nil {
		if err := base.copyLayers(tw); err != nil {
			return fmt.Errorf("base image %s: %w", spec.Base, err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: layerHex + "/", Mode: 0o755, ModTime: epoch}); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{layerHex + "/layer.tar", layer}, {configName, config}, {"manifest.json", manifest}} {
		if err := writeRegular(tw, f.name, 0o644, 0, 0, f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func writeRegular(tw *tar.Writer, name string, mode int64, uid, gid int, data []byte) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Uid: uid, Gid: gid, Size: int64(len(data)), ModTime: epoch}); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}

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

// imageConfig keeps every field of a base image's configuration it does not know, so
// that a base image's settings (exposed ports, volumes, ...) survive.
type imageConfig map[string]json.RawMessage

func buildConfig(spec Spec, base *baseImage, diffID string) ([]byte, error) {
	cfg := imageConfig{}
	if base != nil {
		for k, v := range base.config {
			cfg[k] = v
		}
	}
	inner := map[string]json.RawMessage{}
	if raw, ok := cfg["config"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, fmt.Errorf("base image config: %w", err)
		}
	}
	var rootfs struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	if raw, ok := cfg["rootfs"]; ok {
		if err := json.Unmarshal(raw, &rootfs); err != nil {
			return nil, fmt.Errorf("base image rootfs: %w", err)
		}
	}
	var history []json.RawMessage
	if raw, ok := cfg["history"]; ok {
		if err := json.Unmarshal(raw, &history); err != nil {
			return nil, fmt.Errorf("base image history: %w", err)
		}
	}

	set := func(m map[string]json.RawMessage, k string, v any) error {
		b, err := json.Marshal(v)
		m[k] = b
		return err
	}
	var errs []error
	if spec.Entrypoint != nil {
		errs = append(errs, set(inner, "Entrypoint", spec.Entrypoint))
		if spec.Cmd == nil {
			delete(inner, "Cmd")
		}
	}
	if spec.Cmd != nil {
		errs = append(errs, set(inner, "Cmd", spec.Cmd))
	}
	var env []string
	if raw, ok := inner["Env"]; ok {
		_ = json.Unmarshal(raw, &env)
	}
	env, err := mergeEnv(env, spec.Env)
	if err != nil {
		return nil, err
	}
	errs = append(errs, set(inner, "Env", env))
	if spec.User != "" {
		errs = append(errs, set(inner, "User", spec.User))
	}
	if spec.WorkingDir != "" {
		if !strings.HasPrefix(spec.WorkingDir, "/") {
			return nil, fmt.Errorf("working directory %q must be absolute", spec.WorkingDir)
		}
		errs = append(errs, set(inner, "WorkingDir", spec.WorkingDir))
	}
	if len(spec.Labels) > 0 {
		labels := map[string]string{}
		if raw, ok := inner["Labels"]; ok {
			_ = json.Unmarshal(raw, &labels)
		}
		for k, v := range spec.Labels {
			labels[k] = v
		}
		errs = append(errs, set(inner, "Labels", labels))
	}

	rootfs.Type = "layers"
	rootfs.DiffIDs = append(rootfs.DiffIDs, diffID)
	history = append(history, json.RawMessage(`{"created":"1970-01-01T00:00:00Z","created_by":"containerdriver imagebuild"}`))
	errs = append(errs,
		set(cfg, "config", inner),
		set(cfg, "rootfs", rootfs),
		set(cfg, "history", history),
		set(cfg, "created", epoch.Format(time.RFC3339)),
	)
	if base == nil {
		errs = append(errs, set(cfg, "architecture", "amd64"), set(cfg, "os", "linux"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// encoding/json sorts map keys: the bytes are deterministic.
	return json.Marshal(cfg)
}

// mergeEnv overlays override on base by variable name and adds DefaultPath when no PATH
// is set.
func mergeEnv(base, override []string) ([]string, error) {
	out := append([]string(nil), base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range override {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("environment entry %q: want NAME=value", kv)
		}
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	if _, ok := index["PATH"]; !ok {
		out = append([]string{DefaultPath}, out...)
	}
	return out, nil
}
