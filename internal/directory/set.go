package directory

import (
	"context"
	"errors"
)

// Set is the configured directories, asked in order. It is the one place
// that decides which directory a login belongs to.
type Set struct {
	dirs   []Directory
	byName map[string]Directory
}

// NewSet keeps dirs in their configured order.
func NewSet(dirs ...Directory) *Set {
	s := &Set{dirs: dirs, byName: make(map[string]Directory, len(dirs))}
	for _, d := range dirs {
		s.byName[d.Name()] = d
	}
	return s
}

// Directory returns the directory with the given name.
func (s *Set) Directory(name string) (Directory, bool) {
	d, ok := s.byName[name]
	return d, ok
}

// All returns the directories in configured order.
func (s *Set) All() []Directory { return append([]Directory(nil), s.dirs...) }

// FindUser asks each directory in turn. The first match wins; a login found
// in two directories is ambiguous. When no directory finds the user and at
// least one could not be asked, the answer is "unavailable" rather than "not
// found": a directory that is down must not make a real user look unknown.
func (s *Set) FindUser(ctx context.Context, login string) (*User, error) {
	var found *User
	var down error
	for _, d := range s.dirs {
		u, err := d.FindUser(ctx, login)
		switch {
		case err == nil:
			if found != nil {
				return nil, &Error{Kind: KindAmbiguous, Op: "find", Diagnostic: "login matches accounts in " + found.Directory + " and " + u.Directory}
			}
			if u.Directory == "" {
				u.Directory = d.Name()
			}
			found = u
		case errors.Is(err, ErrNotFound):
		default:
			if down == nil {
				down = err
			}
		}
	}
	if found != nil {
		return found, nil
	}
	if down != nil {
		return nil, down
	}
	return nil, &Error{Kind: KindNotFound, Op: "find"}
}

// Close closes every directory.
func (s *Set) Close() error {
	var errs []error
	for _, d := range s.dirs {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}
