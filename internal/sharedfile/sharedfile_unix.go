//go:build unix

package sharedfile

import (
	"io/fs"
	"os"
	"syscall"
)

// openFlags opens a named pipe without waiting for a writer.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOFOLLOW

func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink) //nolint:unconvert // uint32 on some platforms, uint16 on darwin
	}
	return 1
}
