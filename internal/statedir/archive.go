// Package statedir keeps a runner's state directory (state_path) between runs: it archives
// the directory (tar + gzip, regular files and directories only) and stores the archive in
// Secrets split into chunks, replacing the previous archive atomically. It is not
// Terraform's state: it is whatever the runner leaves in state_path.
//
// It takes a client of Secrets alone, not client-go's clientset, so that the sidecars
// (state-restore, outputs-fetcher) link it without linking every API group of Kubernetes.
// Both client-go's typed SecretInterface (the executor: clientset.CoreV1().Secrets(ns))
// and the sidecars' smaller client satisfy Secrets.
package statedir

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/sharedfile"
)

// UnsupportedFileError names a file of the state directory that cannot be kept.
type UnsupportedFileError struct {
	Path string
	Kind string
}

func (e *UnsupportedFileError) Error() string {
	return fmt.Sprintf("state directory: %s is %s; only regular files (with one link) and directories can be kept, so the state was not saved", e.Path, "a "+e.Kind)
}

// Archive returns dir as a gzip-compressed tar. It keeps regular files and directories
// only: a symbolic link (which would make the sidecar archive what the link names, its
// own token for example), a hard link, a device, a socket or a named pipe anywhere in dir
// is an *UnsupportedFileError naming the path, and nothing is archived. dir is opened as
// an os.Root, so nothing outside it is ever read, whatever the runner does to it meanwhile.
// Modification times are zeroed so an unchanged directory gives the same bytes.
func Archive(dir string) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	defer root.Close()
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	// WalkDir lists each directory with Lstat semantics and never descends into a link.
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		hdr := &tar.Header{Name: rel, ModTime: time.Unix(0, 0)}
		if d.IsDir() {
			info, err := root.Lstat(filepath.FromSlash(rel))
			if err != nil {
				return err
			}
			if !info.IsDir() {
				return &UnsupportedFileError{Path: p, Kind: kindOf(info.Mode())}
			}
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, rel+"/", int64(info.Mode().Perm())
			return tw.WriteHeader(hdr)
		}
		f, err := sharedfile.OpenIn(root, filepath.FromSlash(rel))
		var se *sharedfile.Error
		if errors.As(err, &se) {
			return &UnsupportedFileError{Path: p, Kind: strings.TrimPrefix(se.Why, "it is a ")}
		}
		if err != nil {
			return fmt.Errorf("state directory: read %s: %w", p, err)
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, info.Size(), int64(info.Mode().Perm())
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
			return fmt.Errorf("state directory: read %s: %w", p, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		return "device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// Extract writes an archive made by Archive into dir, which must exist. Entries that
// would land outside dir, and any type other than a file or directory, are refused.
// Confinement is os.Root's: every directory and file is created through an os.Root of dir,
// which refuses a name that climbs out, an absolute name and a symbolic link (already in
// dir) that leads out, so a crafted archive writes nothing outside dir
// (TestExtract_CraftedArchivesStayInside); the check of the names before it only gives the
// clearer error. In the pod dir is STATE_PATH, a volume mount of its own, so the runner
// cannot swap dir itself for a link.
func Extract(data []byte, dir string) error {
	if len(data) == 0 {
		return nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("state archive: %w", err)
	}
	// Whatever is in dir already, nothing is written outside it.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	defer root.Close()
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("state archive: %w", err)
		}
		name := path.Clean(hdr.Name)
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("state archive: entry %q escapes the state directory", hdr.Name)
		}
		target := filepath.FromSlash(name)
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(target, fs.FileMode(hdr.Mode).Perm()|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := root.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := root.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(hdr.Mode).Perm())
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, tr); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("state archive: entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
	}
}
