package store

import "context"

// PreparedStatements is how many statements the writer pool keeps
// prepared, for tests.
func PreparedStatements(s *Store) int {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	return len(s.stmts.stmts)
}

// IsPrepared reports whether the writer pool would run query prepared, for
// tests: it asks for it, lets the pool prepare what it wants, and looks.
func IsPrepared(s *Store, query string) bool {
	s.stmts.get(query)
	s.stmts.prepareWanted(context.Background())
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	_, ok := s.stmts.stmts[query]
	return ok
}
