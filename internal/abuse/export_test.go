package abuse

// KeysOf is the limiter's counter key of each scope of s (IP, user,
// destination), for tests that read the counters themselves.
func (l *Limiter) KeysOf(s Subject) [3]string { return l.keys(s) }
