// Package sharedfile opens the files a run's runner leaves in a directory it shares with
// the driver's sidecars (the shared directory, STATE_PATH) without trusting them: the
// runner may have replaced a file by a symbolic link to a file only the sidecar can read
// (its service account token, for example), a hard link, a named pipe that blocks the
// reader or a device.
//
// Open returns a file only when the name, inside the directory, is a regular file with a
// single link, reached without following a symbolic link: every other case is an *Error
// naming the file. The directory is opened as an os.Root, so no name and no link, however
// it is crafted or swapped while it is read, reaches outside it.
package sharedfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Error says why a file of the shared directory was refused. It names the file and never
// quotes its content or the target of a link.
type Error struct {
	// Path is the file as the caller named it.
	Path string
	// Why is what it is instead of a regular file inside the directory.
	Why string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s was refused: %s; the driver reads only regular files of the shared directory, written in place (no symbolic link, hard link, named pipe or device)", e.Path, e.Why)
}

// Open opens name, a path inside dir, for reading. A name that does not exist is an error
// wrapping fs.ErrNotExist; a name outside dir, a symbolic link anywhere on the way from dir
// to the file, and a file that is not regular or has more than one link are an *Error.
func Open(dir, name string) (*os.File, error) {
	rel, err := Rel(dir, name)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open the directory %s: %w", dir, err)
	}
	defer root.Close()
	f, err := OpenIn(root, rel)
	if err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.Path = name
		}
		return nil, err
	}
	return f, nil
}

// Rel is name relative to dir, or an *Error when name is not inside dir.
func Rel(dir, name string) (string, error) {
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(full))
	if err != nil || !filepath.IsLocal(rel) {
		return "", &Error{Path: name, Why: "it is outside the directory " + dir}
	}
	return rel, nil
}

// OpenIn is Open for rel, a local path inside root.
func OpenIn(root *os.Root, rel string) (*os.File, error) {
	if !filepath.IsLocal(rel) {
		return nil, &Error{Path: rel, Why: "it is outside the directory " + root.Name()}
	}
	// The directories on the way first: os.Root would follow a link that stays inside.
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i := 1; i < len(parts); i++ {
		dir := filepath.Join(parts[:i]...)
		fi, err := root.Lstat(dir)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, &Error{Path: rel, Why: fmt.Sprintf("%s on its way is %s, not a directory", dir, kind(fi.Mode()))}
		}
	}
	before, err := root.Lstat(rel)
	if err != nil {
		return nil, err
	}
	if err := check(before); err != nil {
		return nil, &Error{Path: rel, Why: err.Error()}
	}
	// openFlags never blocks on a named pipe swapped in since; whatever was opened must be
	// the file just checked, so a swap is refused rather than followed.
	f, err := root.OpenFile(rel, openFlags, 0)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err == nil && !os.SameFile(before, after) {
		err = &Error{Path: rel, Why: "it was replaced while it was opened"}
	} else if err == nil {
		if cerr := check(after); cerr != nil {
			err = &Error{Path: rel, Why: cerr.Error()}
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// check refuses anything but a regular file with one link.
func check(fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return errors.New("it is " + kind(fi.Mode()))
	}
	if n := links(fi); n > 1 {
		return fmt.Errorf("it is a hard link (%d names share its content)", n)
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeCharDevice != 0, m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}
