//go:build unix

package breach

import (
	"os"
	"syscall"
)

// mapFile maps size bytes of f read-only and shared: the pages are the
// page cache's, shared with every process that maps the same corpus.
func mapFile(f *os.File, size int) ([]byte, error) {
	b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: f.Name(), Err: err}
	}
	return b, nil
}

func unmapFile(b []byte) error { return syscall.Munmap(b) }
