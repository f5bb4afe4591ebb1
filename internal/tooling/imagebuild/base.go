package imagebuild

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// baseImage is the part of a docker-archive tarball a new image builds on. Layers are
// streamed from the file when the new image is written, never held in memory.
type baseImage struct {
	file   string
	config imageConfig
	// layers are the archive's member names of the layer blobs, symbolic links resolved.
	layers []string
}

// Info describes the image of a docker-archive tarball.
type Info struct {
	RepoTags []string
	// ConfigDigest is "sha256:<hex>" of the image configuration: the image ID.
	ConfigDigest string
	Config       []byte
	// Layers are the archive's member names of the layer blobs, in order.
	Layers []string
}

// Inspect reads manifest.json and the image configuration of a docker-archive tarball.
// Both the classic layout ("<id>/layer.tar") and the OCI-style one of newer Docker
// versions ("blobs/sha256/<digest>") work. The archive must hold exactly one image.
func Inspect(file string) (*Info, error) {
	members := map[string][]byte{}
	links := map[string]string{}
	if err := scan(file, func(h *tar.Header, r io.Reader) error {
		name := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeSymlink:
			links[name] = path.Join(path.Dir(name), h.Linkname)
		case tar.TypeLink:
			links[name] = path.Clean(h.Linkname)
		case tar.TypeReg:
			// Only manifest.json and configurations (small JSON) are kept; layers are
			// streamed later.
			if name == "manifest.json" || (strings.HasSuffix(name, ".json") && h.Size < 4<<20) || (strings.HasPrefix(name, "blobs/") && h.Size < 1<<20) {
				b, err := io.ReadAll(r)
				if err != nil {
					return err
				}
				members[name] = b
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	raw, ok := members["manifest.json"]
	if !ok {
		return nil, errors.New("no manifest.json: not a docker-archive tarball (docker save / podman save --format docker-archive)")
	}
	var manifest []manifestEntry
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if len(manifest) != 1 {
		return nil, fmt.Errorf("manifest.json lists %d images; save exactly one image", len(manifest))
	}
	resolve := func(name string) string {
		name = path.Clean(name)
		for i := 0; i < 16; i++ {
			t, ok := links[name]
			if !ok {
				break
			}
			name = t
		}
		return name
	}
	m := manifest[0]
	cfg, ok := members[resolve(m.Config)]
	if !ok {
		return nil, fmt.Errorf("configuration %s is not in the archive", m.Config)
	}
	info := &Info{RepoTags: m.RepoTags, Config: cfg, ConfigDigest: digest(cfg)}
	for _, l := range m.Layers {
		info.Layers = append(info.Layers, resolve(l))
	}
	return info, nil
}

// readBase reads what a new image needs of a base image.
func readBase(file string) (*baseImage, error) {
	info, err := Inspect(file)
	if err != nil {
		return nil, err
	}
	b := &baseImage{file: file, config: imageConfig{}, layers: info.Layers}
	if err := json.Unmarshal(info.Config, &b.config); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var rootfs struct {
		DiffIDs []string `json:"diff_ids"`
	}
	if err := json.Unmarshal(b.config["rootfs"], &rootfs); err != nil {
		return nil, fmt.Errorf("configuration rootfs: %w", err)
	}
	if len(rootfs.DiffIDs) != len(b.layers) {
		return nil, fmt.Errorf("configuration lists %d layers, manifest.json %d", len(rootfs.DiffIDs), len(b.layers))
	}
	return b, nil
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// copyLayers copies the base image's layer blobs, under their own names, into tw.
func (b *baseImage) copyLayers(tw *tar.Writer) error {
	need := map[string]bool{}
	for _, l := range b.layers {
		need[l] = true
	}
	err := scan(b.file, func(h *tar.Header, r io.Reader) error {
		name := path.Clean(h.Name)
		if h.Typeflag != tar.TypeReg || !need[name] {
			return nil
		}
		delete(need, name)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: h.Size, ModTime: epoch}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	})
	if err != nil {
		return err
	}
	for l := range need {
		return fmt.Errorf("layer %s is not in the archive", l)
	}
	return nil
}

func scan(file string, fn func(*tar.Header, io.Reader) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}
