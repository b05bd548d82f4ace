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

// Commits reports how many SQLite commits the writer made and how many
// transactions they carried, for tests.
func Commits(s *Store) (commits, transactions int64) {
	return s.w.commits.Load(), s.w.batched.Load()
}

// Queued reports how many transactions wait for the writer, for tests.
func Queued(s *Store) int { return len(s.w.queue) }
