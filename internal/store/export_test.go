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

// PauseCheckpoints stops the background checkpointer, for tests that
// look at the log; Checkpoint runs one checkpoint now and says how many
// frames it left in the log.
func PauseCheckpoints(s *Store) {
	if s.ckpt != nil {
		close(s.ckpt.stop)
		s.ckpt.done.Wait()
		s.ckpt.stop = make(chan struct{})
		s.ckpt.done.Add(1)
		go func() { <-s.ckpt.stop; s.ckpt.done.Done() }()
	}
}

func Checkpoint(s *Store) int64 {
	s.ckpt.checkpoint()
	return s.ckpt.frames.Load()
}

// WALFrames is how many frames the write-ahead log holds now.
func WALFrames(s *Store) int64 {
	var busy, log, done int64
	_ = s.ckpt.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done)
	return log
}
