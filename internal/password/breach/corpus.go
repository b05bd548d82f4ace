package breach

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"
)

// ErrNoCorpus means there is no corpus where one was expected: the
// directory or its manifest does not exist, or a Checker has none loaded.
// A password policy decides whether that fails open or closed.
var ErrNoCorpus = errors.New("no breached-password corpus")

// CorruptError means a corpus exists but cannot be trusted: a shard file
// is truncated, fails its checksum, or disagrees with the manifest, or
// the manifest itself is unreadable. A corrupt corpus answers nothing.
type CorruptError struct {
	Dir    string
	Shard  int // -1 for the manifest
	Reason string
}

func (e *CorruptError) Error() string {
	if e.Shard < 0 {
		return fmt.Sprintf("breach corpus %s: manifest: %s", e.Dir, e.Reason)
	}
	return fmt.Sprintf("breach corpus %s: shard 0x%02x: %s", e.Dir, e.Shard, e.Reason)
}

// Corpus is an open, verified corpus. Lookups are safe for concurrent
// use; Close is not safe while lookups are running (a Checker arranges
// that).
type Corpus struct {
	kind      Kind
	shardBits uint
	shards    []shardView
	maps      [][]byte
	stats     Stats
}

type shardView struct {
	params fuseParams
	keys   uint64
	fp     []uint16
}

// Stats describes an open corpus.
type Stats struct {
	Dir           string
	FormatVersion int
	Kind          Kind
	Keys          uint64
	Shards        int
	// FilterBytes is the size of the shard files (fingerprints and
	// headers); BitsPerKey is FilterBytes*8/Keys.
	FilterBytes int64
	BitsPerKey  float64
	// FalsePositiveRate is the expected share of unlisted passwords
	// reported as breached: 2^-16.
	FalsePositiveRate float64
	Duplicates        uint64
	InputLines        uint64
	MalformedLines    uint64
	BuiltAt           time.Time
	BuildDuration     time.Duration
	Source            string
	// Checksum is the algorithm; ChecksumsVerified is true once every
	// shard matched the manifest (always, for an open Corpus).
	Checksum          string
	ChecksumsVerified bool
	VerifyDuration    time.Duration
}

// Open maps and verifies the corpus in dir. A missing directory or
// manifest gives an error wrapping ErrNoCorpus; a damaged one a
// *CorruptError. If a build swaps a new corpus in while Open reads, Open
// starts again on the new one.
func Open(dir string) (*Corpus, error) {
	var err error
	for range 3 {
		var c *Corpus
		c, err = openOnce(dir)
		if !errors.Is(err, errSwappedUnderUs) {
			return c, err
		}
	}
	return nil, err
}

var errSwappedUnderUs = errors.New("corpus replaced while opening")

// replaced reports whether the path dir now names another directory than
// the one root was opened on (a build swapped a new corpus in).
func replaced(root *os.Root, dir string) bool {
	held, err := root.Stat(".")
	if err != nil {
		return true
	}
	now, err := os.Stat(dir)
	return err == nil && !os.SameFile(held, now)
}

func openOnce(dir string) (*Corpus, error) {
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoCorpus, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("breach corpus: %w", err)
	}
	// Everything is opened through one directory handle, so a rename of
	// the path halfway through cannot mix two corpora.
	defer root.Close()
	mf, err := root.Open(manifestName)
	if errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w: %s has no %s", ErrNoCorpus, dir, manifestName)
		if replaced(root, dir) {
			// The directory this handle holds was swapped out and emptied
			// while we opened it: try again with the new one.
			err = fmt.Errorf("%w: %w", errSwappedUnderUs, err)
		}
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("breach corpus: %w", err)
	}
	mb, err := io.ReadAll(io.LimitReader(mf, 16<<20))
	mf.Close()
	if err != nil {
		return nil, fmt.Errorf("breach corpus: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, &CorruptError{Dir: dir, Shard: -1, Reason: err.Error()}
	}
	if err := m.validate(); err != nil {
		return nil, &CorruptError{Dir: dir, Shard: -1, Reason: err.Error()}
	}
	c := &Corpus{
		kind:      m.Kind,
		shardBits: m.ShardBits,
		shards:    make([]shardView, len(m.Shards)),
		maps:      make([][]byte, len(m.Shards)),
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	for i, s := range m.Shards {
		f, err := root.Open(s.File)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", errSwappedUnderUs, &CorruptError{Dir: dir, Shard: i, Reason: "file " + s.File + " is missing"})
		}
		if err != nil {
			return nil, fmt.Errorf("breach corpus: %w", err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("breach corpus: %w", err)
		}
		if fi.Size() != s.Bytes {
			f.Close()
			reason := fmt.Sprintf("size %d bytes, manifest says %d", fi.Size(), s.Bytes)
			if fi.Size() < s.Bytes {
				reason = "truncated: " + reason
			}
			return nil, &CorruptError{Dir: dir, Shard: i, Reason: reason}
		}
		if s.Bytes < headerSize || s.Bytes > 1<<40 {
			f.Close()
			return nil, &CorruptError{Dir: dir, Shard: i, Reason: fmt.Sprintf("implausible size %d", s.Bytes)}
		}
		b, err := mapFile(f, int(s.Bytes))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("breach corpus: %w", err)
		}
		c.maps[i] = b
	}
	start := time.Now()
	if err := c.verify(dir, &m); err != nil {
		return nil, err
	}
	var bytes int64
	for _, s := range m.Shards {
		bytes += s.Bytes
	}
	c.stats = Stats{
		Dir:               dir,
		FormatVersion:     m.Version,
		Kind:              m.Kind,
		Keys:              m.Keys,
		Shards:            len(m.Shards),
		FilterBytes:       bytes,
		FalsePositiveRate: 1.0 / 65536,
		Duplicates:        m.Duplicates,
		InputLines:        m.InputLines,
		MalformedLines:    m.MalformedLines,
		BuiltAt:           m.BuiltAt,
		BuildDuration:     time.Duration(m.BuildSeconds * float64(time.Second)),
		Source:            m.Source,
		Checksum:          m.Checksum,
		ChecksumsVerified: true,
		VerifyDuration:    time.Since(start),
	}
	if m.Keys > 0 {
		c.stats.BitsPerKey = float64(bytes) * 8 / float64(m.Keys)
	}
	ok = true
	return c, nil
}

// verify checks every shard against the manifest, in parallel; the
// first failure (lowest shard) is reported.
func (c *Corpus) verify(dir string, m *manifest) error {
	errs := make([]error, len(m.Shards))
	var wg sync.WaitGroup
	work := make(chan int)
	for range min(runtime.GOMAXPROCS(0), len(m.Shards)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				errs[i] = c.verifyShard(dir, m, i)
			}
		}()
	}
	for i := range m.Shards {
		work <- i
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Corpus) verifyShard(dir string, m *manifest, i int) error {
	s := &m.Shards[i]
	b := c.maps[i]
	corrupt := func(format string, a ...any) error {
		return &CorruptError{Dir: dir, Shard: i, Reason: fmt.Sprintf(format, a...)}
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != s.SHA256 {
		return corrupt("checksum mismatch")
	}
	h, err := parseShardHeader(b)
	if err != nil {
		return corrupt("%v", err)
	}
	switch {
	case h.index != uint32(i) || h.count != uint32(len(m.Shards)):
		return corrupt("file is shard %d of %d", h.index, h.count)
	case h.kind != m.Kind:
		return corrupt("file holds %s hashes, manifest says %s", h.kind, m.Kind)
	case h.keys != s.Keys:
		return corrupt("file holds %d keys, manifest says %d", h.keys, s.Keys)
	case int64(headerSize)+2*int64(h.params.arrayLength) != s.Bytes:
		return corrupt("file size does not match its filter")
	}
	c.shards[i] = shardView{params: h.params, keys: h.keys, fp: fingerprintView(b[headerSize:])}
	return nil
}

// Kind is the hash the corpus is keyed by.
func (c *Corpus) Kind() Kind { return c.kind }

// Contains reports whether password appears in the corpus. A false
// positive has probability 2^-16; a listed password is always found.
func (c *Corpus) Contains(password string) bool {
	d := c.kind.Digest(password)
	return c.ContainsHash(d)
}

// ContainsHash reports whether a hash appears in the corpus: a SHA-1
// digest for a SHA1 corpus, or for an NTLM corpus the NT hash in the
// first 16 bytes.
func (c *Corpus) ContainsHash(digest [20]byte) bool {
	// Small enough to be inlined, so callers pass a pointer to their
	// digest rather than a copy in the argument area; see containsDigest.
	return c.containsDigest(&digest)
}

// containsDigest looks a digest up (see locate on how it reads it).
func (c *Corpus) containsDigest(digest *[20]byte) bool {
	shard, key := locate(digest, c.shardBits)
	s := &c.shards[shard]
	hash := mix(key, s.params.seed)
	h0, h1, h2 := s.params.positions(hash)
	fp := s.fp
	return fingerprint(hash)^fp[h0]^fp[h1]^fp[h2] == 0 && s.keys != 0
}

// lookupGroup is how many lookups ContainsHashes computes before it
// reads any fingerprint.
const lookupGroup = 16

// ContainsHashes looks up many hashes: found[i] reports digests[i] (found
// must be at least as long as digests). It answers exactly as ContainsHash
// would, computing the slots of a group of hashes before reading any, so
// the processor overlaps their memory accesses. Use it to audit many
// hashes, such as every NT hash of a directory.
func (c *Corpus) ContainsHashes(digests [][20]byte, found []bool) {
	_ = found[:len(digests)]
	var (
		views [lookupGroup]*shardView
		fps   [lookupGroup]uint16
		slots [lookupGroup][3]uint32
	)
	for len(digests) > 0 {
		n := min(len(digests), lookupGroup)
		for j := range n {
			shard, key := locate(&digests[j], c.shardBits)
			s := &c.shards[shard]
			hash := mix(key, s.params.seed)
			fps[j] = fingerprint(hash)
			slots[j][0], slots[j][1], slots[j][2] = s.params.positions(hash)
			views[j] = s
		}
		for j := range n {
			s, p := views[j], &slots[j]
			found[j] = s.keys != 0 && fps[j]^s.fp[p[0]]^s.fp[p[1]]^s.fp[p[2]] == 0
		}
		digests, found = digests[n:], found[n:]
	}
}

// Stats describes the corpus.
func (c *Corpus) Stats() Stats { return c.stats }

// Close unmaps the corpus. No lookup may run during or after Close.
func (c *Corpus) Close() error {
	var errs []error
	for i, b := range c.maps {
		if b != nil {
			errs = append(errs, unmapFile(b))
			c.maps[i] = nil
		}
	}
	c.shards = nil
	return errors.Join(errs...)
}
