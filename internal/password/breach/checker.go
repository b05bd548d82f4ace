package breach

import (
	"sync"
	"sync/atomic"
)

// Checker answers lookups from the current corpus of a directory and can
// swap in a newly built one without stopping them. It is safe for
// concurrent use.
//
// Each loaded corpus is a generation with a reference count: the Checker
// holds one reference and every lookup holds one while it runs. Reload
// swaps the pointer first and then drops the Checker's reference, so the
// old mapping is unmapped by whichever of Reload or the last lookup
// finishes last, and no lookup ever reads unmapped memory.
type Checker struct {
	dir string
	mu  sync.Mutex // serialises Reload and Close
	cur atomic.Pointer[generation]
}

type generation struct {
	corpus *Corpus
	refs   atomic.Int64
}

// NewChecker returns a Checker for the corpus directory dir, with no
// corpus loaded: call Reload to load it.
func NewChecker(dir string) *Checker { return &Checker{dir: dir} }

// Dir is the corpus directory.
func (k *Checker) Dir() string { return k.dir }

// Reload opens the corpus in the directory again and, once it is
// verified, swaps it in. On error the corpus in use (if any) stays in
// use, and the error wraps ErrNoCorpus or is a *CorruptError.
func (k *Checker) Reload() error {
	c, err := Open(k.dir)
	if err != nil {
		return err
	}
	k.Swap(c)
	return nil
}

// Swap makes c the corpus in use (nil unloads) and releases the previous
// one once in-flight lookups are done with it. The Checker takes
// ownership of c.
func (k *Checker) Swap(c *Corpus) {
	var g *generation
	if c != nil {
		g = &generation{corpus: c}
		g.refs.Store(1)
	}
	k.mu.Lock()
	old := k.cur.Swap(g)
	k.mu.Unlock()
	if old != nil {
		old.release()
	}
}

// Close unloads the corpus; lookups afterwards return ErrNoCorpus.
func (k *Checker) Close() error {
	k.Swap(nil)
	return nil
}

func (g *generation) release() {
	if g.refs.Add(-1) == 0 {
		g.corpus.Close()
	}
}

// acquire returns the current generation with a reference held, or nil.
func (k *Checker) acquire() *generation {
	for {
		g := k.cur.Load()
		if g == nil {
			return nil
		}
		// A count of zero means the generation was swapped out and is
		// being closed: load the pointer again, it has moved on.
		for r := g.refs.Load(); r > 0; r = g.refs.Load() {
			if g.refs.CompareAndSwap(r, r+1) {
				return g
			}
		}
	}
}

// Check reports whether password appears in the current corpus.
func (k *Checker) Check(password string) (bool, error) {
	g := k.acquire()
	if g == nil {
		return false, ErrNoCorpus
	}
	defer g.release()
	return g.corpus.Contains(password), nil
}

// CheckHash reports whether a hash (of the current corpus's Kind)
// appears in the current corpus.
func (k *Checker) CheckHash(digest [20]byte) (bool, error) {
	g := k.acquire()
	if g == nil {
		return false, ErrNoCorpus
	}
	defer g.release()
	return g.corpus.ContainsHash(digest), nil
}

// Stats describes the corpus in use.
func (k *Checker) Stats() (Stats, error) {
	g := k.acquire()
	if g == nil {
		return Stats{}, ErrNoCorpus
	}
	defer g.release()
	return g.corpus.Stats(), nil
}
