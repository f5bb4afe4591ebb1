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
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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
