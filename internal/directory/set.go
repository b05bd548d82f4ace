package directory

import (
	"context"
	"errors"
)

// Set is the configured directories, asked in order. It is the one place
// that decides which directory a login belongs to.
//
// Routing: a directory may declare domain names (DomainOwner). A
// down-level login "EXAMPLE\alice" goes only to the directories that declare
// EXAMPLE, as "alice"; a login "alice@example.test" goes only to those that
// declare example.test, first as typed (it may be a userPrincipalName or a
// mail address) and, when that finds nobody, as "alice". A qualified login
// whose domain nobody declares is asked of every directory: as typed for
// user@suffix (probably a mail address), as the bare name for DOMAIN\user
// only while no directory declares any domain at all (otherwise the domain
// is unknown and nobody is found). Plain logins are asked of every
// directory, in order.
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

// DomainsOf returns the domain names d declares, nil when it declares none.
func DomainsOf(d Directory) []string {
	if o, ok := d.(DomainOwner); ok {
		return o.Domains()
	}
	return nil
}

// Target is one directory a login is routed to and the forms of the login
// to look up there, tried in order until one finds somebody.
type Target struct {
	Directory Directory
	Logins    []string
}

// Route returns where FindUser looks a login up, in order. An empty result
// means nobody can match (a down-level domain no directory declares).
func (s *Set) Route(login string) []Target {
	l := ParseLogin(login)
	var owners []Directory
	anyDomains := false
	for _, d := range s.dirs {
		doms := DomainsOf(d)
		anyDomains = anyDomains || len(doms) > 0
		if l.Form != LoginPlain && MatchesDomain(doms, l.Domain) {
			owners = append(owners, d)
		}
	}
	var out []Target
	add := func(dirs []Directory, logins ...string) {
		for _, d := range dirs {
			out = append(out, Target{Directory: d, Logins: logins})
		}
	}
	switch {
	case l.Form == LoginPlain:
		add(s.dirs, l.Raw)
	case len(owners) > 0 && l.Form == LoginDownLevel:
		add(owners, l.User)
	case len(owners) > 0:
		add(owners, l.Raw, l.User)
	case l.Form == LoginUPN:
		add(s.dirs, l.Raw)
	case !anyDomains:
		add(s.dirs, l.User)
	}
	return out
}

// FindUser finds the account a typed login names, routed as described on
// Set. The first match wins; a login found in two directories is
// ambiguous. When no directory finds the user and at least one could not be
// asked, the answer is "unavailable" rather than "not found": a directory
// that is down must not make a real user look unknown.
func (s *Set) FindUser(ctx context.Context, login string) (*User, error) {
	return s.find(ctx, s.Route(login))
}

// FindUserIn looks login up in the directory named dirName only (an explicit
// domain picker). A down-level "DOMAIN\user" is looked up as "user" when the
// directory declares DOMAIN or declares no domains; a DOMAIN it does not
// declare finds nobody. An unknown directory name finds nobody.
func (s *Set) FindUserIn(ctx context.Context, dirName, login string) (*User, error) {
	d, ok := s.byName[dirName]
	if !ok {
		return nil, &Error{Kind: KindNotFound, Op: "find", Diagnostic: "no directory named " + dirName}
	}
	l := ParseLogin(login)
	doms := DomainsOf(d)
	var logins []string
	switch l.Form {
	case LoginPlain:
		logins = []string{l.Raw}
	case LoginDownLevel:
		if len(doms) == 0 || MatchesDomain(doms, l.Domain) {
			logins = []string{l.User}
		}
	case LoginUPN:
		logins = []string{l.Raw}
		if MatchesDomain(doms, l.Domain) {
			logins = append(logins, l.User)
		}
	}
	if len(logins) == 0 {
		return nil, &Error{Kind: KindNotFound, Op: "find",
			Diagnostic: "directory " + dirName + " does not declare domain " + l.Domain}
	}
	return s.find(ctx, []Target{{Directory: d, Logins: logins}})
}

func (s *Set) find(ctx context.Context, targets []Target) (*User, error) {
	var found *User
	var down error
	for _, t := range targets {
		u, err := findFirst(ctx, t)
		switch {
		case err == nil:
			if u.Directory == "" {
				u.Directory = t.Directory.Name()
			}
			if found != nil {
				return nil, &Error{Kind: KindAmbiguous, Op: "find", Diagnostic: "login matches accounts in " + found.Directory + " and " + u.Directory}
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

// findFirst tries t's login forms in order until one finds somebody; any
// answer other than "not found" ends the search.
func findFirst(ctx context.Context, t Target) (*User, error) {
	var err error
	for i, login := range t.Logins {
		if i > 0 && login == t.Logins[i-1] {
			continue
		}
		var u *User
		u, err = t.Directory.FindUser(ctx, login)
		if err == nil || !errors.Is(err, ErrNotFound) {
			return u, err
		}
	}
	if err == nil {
		err = &Error{Kind: KindNotFound, Op: "find"}
	}
	return nil, err
}

// Close closes every directory.
func (s *Set) Close() error {
	var errs []error
	for _, d := range s.dirs {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}
