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
)

// UnsupportedFileError names a file of the state directory that cannot be kept.
type UnsupportedFileError struct {
	Path string
	Kind string
}

func (e *UnsupportedFileError) Error() string {
	return fmt.Sprintf("state directory: %s is a %s; only regular files and directories can be kept", e.Path, e.Kind)
}

// Archive returns dir as a gzip-compressed tar. Symlinks, devices, sockets and pipes
// are an *UnsupportedFileError naming the path. Modification times are zeroed so an
// unchanged directory gives the same bytes.
func Archive(dir string) ([]byte, error) {
	var buf bytes.Buffer
	gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(gz)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: int64(mode.Perm()), ModTime: time.Unix(0, 0)}
		switch {
		case mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case mode.IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		default:
			return &UnsupportedFileError{Path: p, Kind: kindOf(mode)}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
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
		return "symlink"
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
func Extract(data []byte, dir string) error {
	if len(data) == 0 {
		return nil
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("state archive: %w", err)
	}
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
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, fs.FileMode(hdr.Mode).Perm()|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fs.FileMode(hdr.Mode).Perm())
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
