//go:build !linux

package breach

import "errors"

// exchange is not available here; the caller falls back to two renames.
func exchange(a, b string) error {
	return errors.New("atomic exchange not supported on this system")
}
