package gitinit

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// copyTree writes the files of commit under sub into dest, straight from the git objects:
// regular files 0644, executables 0755, symbolic links as links. Nothing is written
// outside dest, whatever the links say; files whose place is one of reserved (the
// contract's files) are skipped. It returns the number of files written.
func copyTree(repo *git.Repository, commit plumbing.Hash, sub, dest string, reserved []string, logger *log.Logger) (int, error) {
	c, err := repo.CommitObject(commit)
	if err != nil {
		return 0, fmt.Errorf("read commit: %w", err)
	}
	tree, err := c.Tree()
	if err != nil {
		return 0, fmt.Errorf("read tree: %w", err)
	}
	if sub != "" {
		t, err := tree.Tree(sub)
		if err != nil {
			if e, ferr := tree.FindEntry(sub); ferr == nil && e.Mode != filemode.Dir {
				return 0, fmt.Errorf("path %q is a file, not a directory", sub)
			}
			return 0, fmt.Errorf("path %q is not a directory of the commit", sub)
		}
		tree = t
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, fmt.Errorf("create %s: %w", dest, err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dest, err)
	}
	defer root.Close()
	skip := map[string]bool{}
	for _, r := range reserved {
		if rel, err := filepath.Rel(dest, r); err == nil && filepath.IsLocal(rel) {
			skip[filepath.ToSlash(rel)] = true
		}
	}

	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	n := 0
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("walk the tree: %w", err)
		}
		if reservedPath(skip, name) {
			logger.Printf("warning: %s is not copied: the shared directory's contract file of that name belongs to the runner", name)
			continue
		}
		switch entry.Mode {
		case filemode.Dir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return n, fmt.Errorf("create directory %s: %w", name, err)
			}
			if err := root.Chmod(name, 0o755); err != nil {
				return n, fmt.Errorf("chmod %s: %w", name, err)
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			perm := os.FileMode(0o644)
			if entry.Mode == filemode.Executable {
				perm = 0o755
			}
			if err := writeBlob(repo, root, name, entry.Hash, perm); err != nil {
				return n, err
			}
			n++
		case filemode.Symlink:
			target, err := blobContent(repo, entry.Hash)
			if err != nil {
				return n, fmt.Errorf("read link %s: %w", name, err)
			}
			if path.IsAbs(target) || !filepath.IsLocal(path.Join(path.Dir(name), target)) {
				logger.Printf("warning: link %s points outside the copied directory (%s)", name, target)
			}
			if err := removeExisting(root, name); err != nil {
				return n, err
			}
			if err := root.Symlink(target, name); err != nil {
				return n, fmt.Errorf("create link %s: %w", name, err)
			}
			n++
		case filemode.Submodule:
			logger.Printf("warning: submodule %s is not checked out", name)
		default:
			logger.Printf("warning: %s has an unknown mode %s and is not copied", name, entry.Mode)
		}
	}
	return n, nil
}

// removeExisting makes room for a file or link: what a previous attempt left there is
// replaced, and an existing link is never followed.
func removeExisting(root *os.Root, name string) error {
	fi, err := root.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("%s already exists as a directory", name)
	}
	if err := root.Remove(name); err != nil {
		return fmt.Errorf("replace %s: %w", name, err)
	}
	return nil
}

func writeBlob(repo *git.Repository, root *os.Root, name string, h plumbing.Hash, perm os.FileMode) error {
	blob, err := repo.BlobObject(h)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	r, err := blob.Reader()
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer r.Close()
	if err := removeExisting(root, name); err != nil {
		return err
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	// The umask must not take the executable bit or the read bits away.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func blobContent(repo *git.Repository, h plumbing.Hash) (string, error) {
	blob, err := repo.BlobObject(h)
	if err != nil {
		return "", err
	}
	r, err := blob.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	return string(b), err
}

// reservedPath reports whether name, or a directory above it, is reserved.
func reservedPath(skip map[string]bool, name string) bool {
	for p := name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if skip[p] {
			return true
		}
	}
	return false
}
