package breach

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BuildOptions says what to build and where.
type BuildOptions struct {
	// Inputs are files, or directories searched recursively for files, of
	// "HASH:COUNT" lines; files named by a 5-hex prefix ("0A1B2.txt") are
	// read as the range layout of "SUFFIX:COUNT" lines. Files ending in
	// .gz are decompressed. Names starting with "." are skipped.
	Inputs []string
	// Kind is the hash of the inputs: SHA1 (the default) or NTLM.
	Kind Kind
	// Out is the corpus directory. It is replaced atomically: a new
	// directory is written beside it and swapped in by rename. An existing
	// Out must be empty or a corpus.
	Out string
	// Shards is the number of shards, a power of two from 1 to MaxShards.
	// 0 chooses by size: the most shards (up to AutoMaxShards) that keep at
	// least AutoShardKeys keys in each, where the filter is smallest.
	Shards int
	// TempDir holds the partition files (8 bytes per input key) during the
	// build; empty means the directory that holds Out, which keeps them on
	// the same disk rather than in a memory-backed /tmp.
	TempDir string
	// MinCount skips hashes seen fewer times than this. Count-0 lines
	// (range API padding) are always skipped.
	MinCount int64
	// MalformedLimit is how many malformed lines are tolerated before the
	// build fails: 0 means DefaultMalformedLimit, negative means none.
	MalformedLimit int64
	// Workers build shards in parallel; 0 means GOMAXPROCS.
	Workers int
	// Source describes the inputs in the manifest; empty means the input
	// paths.
	Source string
	// Progress, if set, is called from time to time during the build.
	Progress func(BuildProgress)
	// Now is the clock for the manifest's build time; nil means time.Now.
	Now func() time.Time
}

// DefaultMalformedLimit is how many malformed input lines a build
// tolerates by default.
const DefaultMalformedLimit = 1000

// Build stages, as reported in BuildProgress.Stage.
const (
	StagePartition = "partition" // reading inputs; Done/Total in input bytes
	StageFilter    = "filter"    // building shard filters; Done/Total in keys
)

// BuildProgress is a snapshot of a running build.
type BuildProgress struct {
	Stage       string
	Done, Total int64
	// Keys is how many keys have been read so far.
	Keys int64
}

// BuildResult describes a finished build.
type BuildResult struct {
	Dir    string
	Kind   Kind
	Shards int
	// Keys is the number of distinct keys in the corpus; Duplicates the
	// input keys dropped as repeats.
	Keys, Duplicates uint64
	// InputLines counts every line read; SkippedLines the blank, comment,
	// padding and below-MinCount ones; MalformedLines the rejected ones.
	InputLines, SkippedLines, MalformedLines uint64
	// Malformed describes the first few malformed lines as
	// "file:line: reason".
	Malformed []string
	// Bytes is the size of the shard files.
	Bytes    int64
	Duration time.Duration
}

// MalformedError is returned when more input lines are malformed than
// BuildOptions.MalformedLimit allows.
type MalformedError struct {
	Lines uint64   // malformed lines seen when the build stopped
	Limit int64    // the limit in force
	First []string // "file:line: reason" for the first few
}

func (e *MalformedError) Error() string {
	return fmt.Sprintf("more than %d malformed input lines (first: %s)", e.Limit, strings.Join(e.First, "; "))
}

const maxReportedMalformed = 10

// Builder builds a corpus from hashes added one at a time; Build drives it
// from files. Hashes are partitioned to temporary files as they come, so a
// Builder holds only its write buffers in memory until Finish. A Builder is
// not safe for concurrent use.
type Builder struct {
	opts     BuildOptions
	partBits uint // keys are partitioned into 1<<partBits temporary files
	start    time.Time
	tmp      string // partition directory
	files    []*os.File
	bufs     [][]byte
	counts   []uint64
	err      error // first write error, sticky
	keys     int64

	inputLines, skipped, malformed uint64
	malformedFirst                 []string
	finished                       bool
}

// partitionBuffers is the memory for partition write buffers, shared
// among the partition files.
const partitionBuffers = 64 << 20

// NewBuilder checks opts and creates the temporary partition files.
func NewBuilder(opts BuildOptions) (*Builder, error) {
	if opts.Kind == 0 {
		opts.Kind = SHA1
	}
	if !opts.Kind.valid() {
		return nil, fmt.Errorf("breach build: invalid hash kind %d", opts.Kind)
	}
	if opts.Shards < 0 || opts.Shards > MaxShards || opts.Shards&(opts.Shards-1) != 0 {
		return nil, fmt.Errorf("breach build: shards must be a power of two from 1 to %d, not %d", MaxShards, opts.Shards)
	}
	if opts.Out == "" {
		return nil, errors.New("breach build: no output directory")
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, fmt.Errorf("breach build: %w", err)
	}
	opts.Out = out
	if err := checkReplaceable(out); err != nil {
		return nil, err
	}
	if opts.MalformedLimit == 0 {
		opts.MalformedLimit = DefaultMalformedLimit
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TempDir == "" {
		opts.TempDir = filepath.Dir(out)
	}
	b := &Builder{opts: opts, partBits: autoMaxShardBits, start: time.Now()}
	if opts.Shards > 0 {
		b.partBits = max(b.partBits, uint(bitsLen(uint(opts.Shards-1))))
	}
	b.tmp, err = os.MkdirTemp(opts.TempDir, ".sspr-breach-partition-")
	if err != nil {
		return nil, fmt.Errorf("breach build: temporary directory: %w", err)
	}
	parts := 1 << b.partBits
	b.files = make([]*os.File, parts)
	b.bufs = make([][]byte, parts)
	b.counts = make([]uint64, parts)
	for i := range b.files {
		f, err := os.Create(b.partPath(i))
		if err != nil {
			b.Abort()
			return nil, fmt.Errorf("breach build: partition file: %w", err)
		}
		b.files[i] = f
		b.bufs[i] = make([]byte, 0, min(64<<10, partitionBuffers/parts))
	}
	return b, nil
}

// checkReplaceable refuses to replace anything but a corpus or an empty
// directory, so a mistyped --out cannot delete someone's data.
func checkReplaceable(out string) error {
	fi, err := os.Stat(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("breach build: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("breach build: %s exists and is not a directory", out)
	}
	if _, err := os.Stat(filepath.Join(out, manifestName)); err == nil {
		return nil
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("breach build: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("breach build: refusing to replace %s: it is neither empty nor a breach corpus (no %s)", out, manifestName)
	}
	return nil
}

// Add adds one hash: 20 bytes for SHA1, 16 for NTLM.
func (b *Builder) Add(digest []byte) error {
	if len(digest) != b.opts.Kind.Size() {
		return fmt.Errorf("breach build: %d-byte hash, want %d for %s", len(digest), b.opts.Kind.Size(), b.opts.Kind)
	}
	var d [20]byte
	copy(d[:], digest)
	b.add(&d)
	return b.err
}

func (b *Builder) add(d *[20]byte) {
	shard, key := locate(d, b.partBits)
	buf := binary.LittleEndian.AppendUint64(b.bufs[shard], key)
	if len(buf) == cap(buf) {
		if _, err := b.files[shard].Write(buf); err != nil && b.err == nil {
			b.err = fmt.Errorf("breach build: writing partition file: %w", err)
		}
		buf = buf[:0]
	}
	b.bufs[shard] = buf
	b.counts[shard]++
	b.keys++
}

// addFile reads one input file, in the range layout if its name is a
// 5-hex prefix.
func (b *Builder) addFile(ctx context.Context, path string, progress func(n int)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("breach build: %w", err)
	}
	defer f.Close()
	var r io.Reader = &countingReader{r: f, progress: progress}
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("breach build: %s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	br := bufio.NewReaderSize(r, 256<<10)
	prefix := rangePrefix(path)
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An absurdly long line: it cannot be a hash. Skip the rest.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			b.inputLines++
			if merr := b.noteMalformed(path, lineNo, errors.New("line too long")); merr != nil {
				return merr
			}
			if err == io.EOF {
				break
			}
			continue
		}
		if len(line) > 0 {
			b.inputLines++
			l, ok, perr := ParseLine(line, prefix, b.opts.Kind)
			switch {
			case perr != nil:
				if merr := b.noteMalformed(path, lineNo, perr); merr != nil {
					return merr
				}
			case !ok || l.Count == 0 || l.Count < b.opts.MinCount:
				b.skipped++
			default:
				b.add(&l.Digest)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("breach build: reading %s: %w", path, err)
		}
		if lineNo&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if b.err != nil {
				return b.err
			}
		}
	}
	return b.err
}

func (b *Builder) noteMalformed(path string, line int, err error) error {
	b.malformed++
	if len(b.malformedFirst) < maxReportedMalformed {
		b.malformedFirst = append(b.malformedFirst, fmt.Sprintf("%s:%d: %v", path, line, err))
	}
	if b.opts.MalformedLimit >= 0 && b.malformed > uint64(b.opts.MalformedLimit) {
		return &MalformedError{Lines: b.malformed, Limit: b.opts.MalformedLimit, First: b.malformedFirst}
	}
	return nil
}

// countingReader reports the bytes read from an input file (compressed
// bytes for a .gz), so progress is measured against file sizes.
type countingReader struct {
	r        io.Reader
	progress func(n int)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.progress(n)
	return n, err
}

// Abort removes the temporary files of an unfinished build.
func (b *Builder) Abort() {
	for _, f := range b.files {
		if f != nil {
			f.Close()
		}
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
	b.finished = true
}

// inputFiles expands the inputs into a sorted list of files with sizes.
func inputFiles(inputs []string) ([]string, int64, error) {
	var files []string
	var total int64
	for _, in := range inputs {
		fi, err := os.Stat(in)
		if err != nil {
			return nil, 0, fmt.Errorf("breach build: input: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, in)
			total += fi.Size()
			continue
		}
		var found []string
		err = filepath.WalkDir(in, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path != in && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				// Never read a corpus (perhaps the one being replaced)
				// as input.
				if _, err := os.Stat(filepath.Join(path, manifestName)); err == nil {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				found = append(found, path)
				total += info.Size()
			}
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("breach build: input: %w", err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, 0, errors.New("breach build: no input files")
	}
	return files, total, nil
}

// Build builds a corpus from Pwned Passwords files and swaps it into
// opts.Out. On error nothing at opts.Out changes. The result is returned
// with a *MalformedError too, so the caller can show the bad lines.
func Build(ctx context.Context, opts BuildOptions) (*BuildResult, error) {
	files, total, err := inputFiles(opts.Inputs)
	if err != nil {
		return nil, err
	}
	if opts.Source == "" {
		opts.Source = strings.Join(opts.Inputs, ", ")
	}
	b, err := NewBuilder(opts)
	if err != nil {
		return nil, err
	}
	var done int64
	lastReport := time.Now()
	progress := func(n int) {
		done += int64(n)
		if b.opts.Progress != nil && time.Since(lastReport) > 100*time.Millisecond {
			lastReport = time.Now()
			b.opts.Progress(BuildProgress{Stage: StagePartition, Done: done, Total: total, Keys: b.keys})
		}
	}
	for _, f := range files {
		if err := b.addFile(ctx, f, progress); err != nil {
			var me *MalformedError
			res := b.result()
			b.Abort()
			if errors.As(err, &me) {
				return res, err
			}
			return nil, err
		}
	}
	if b.opts.Progress != nil {
		b.opts.Progress(BuildProgress{Stage: StagePartition, Done: total, Total: total, Keys: b.keys})
	}
	return b.Finish(ctx)
}

func (b *Builder) result() *BuildResult {
	return &BuildResult{
		Dir:            b.opts.Out,
		Kind:           b.opts.Kind,
		Shards:         b.opts.Shards,
		InputLines:     b.inputLines,
		SkippedLines:   b.skipped,
		MalformedLines: b.malformed,
		Malformed:      b.malformedFirst,
	}
}

// Finish builds every shard filter from its partition file, writes the
// corpus and swaps it into place. The Builder cannot be used afterwards.
func (b *Builder) Finish(ctx context.Context) (res *BuildResult, err error) {
	if b.finished {
		return nil, errors.New("breach build: builder already finished")
	}
	defer b.Abort()
	res = b.result()
	for i, f := range b.files {
		if b.err == nil && len(b.bufs[i]) > 0 {
			if _, err := f.Write(b.bufs[i]); err != nil {
				b.err = fmt.Errorf("breach build: writing partition file: %w", err)
			}
		}
		b.bufs[i] = nil
		if err := f.Close(); err != nil && b.err == nil {
			b.err = fmt.Errorf("breach build: writing partition file: %w", err)
		}
		b.files[i] = nil
	}
	if b.err != nil {
		return nil, b.err
	}
	var totalKeys uint64
	for _, c := range b.counts {
		totalKeys += c
	}
	shardBits := chooseShardBits(b.opts.Shards, totalKeys)
	shards := 1 << shardBits
	res.Shards = shards
	out := b.opts.Out
	newDir, err := os.MkdirTemp(filepath.Dir(out), "."+filepath.Base(out)+".new-")
	if err != nil {
		return nil, fmt.Errorf("breach build: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped {
			os.RemoveAll(newDir)
		}
	}()
	if err := os.Chmod(newDir, 0o755); err != nil {
		return nil, fmt.Errorf("breach build: %w", err)
	}

	m := &manifest{
		Format:          manifestFormat,
		Version:         FormatVersion,
		Kind:            b.opts.Kind,
		Filter:          "binary-fuse-3",
		FingerprintBits: 16,
		ShardBits:       shardBits,
		InputLines:      b.inputLines,
		SkippedLines:    b.skipped,
		MalformedLines:  b.malformed,
		BuiltAt:         b.opts.Now().UTC().Truncate(time.Second),
		Source:          b.opts.Source,
		Checksum:        "sha256",
		Shards:          make([]manifestShard, shards),
	}
	var (
		next      atomic.Int64
		doneKeys  atomic.Int64
		wg        sync.WaitGroup
		errOnce   sync.Once
		firstErr  error
		ctxFailed = func() bool { return ctx.Err() != nil }
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err }) }
	var progressMu sync.Mutex
	lastReport := time.Time{}
	for range min(b.opts.Workers, shards) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &shardWorker{}
			for {
				i := int(next.Add(1) - 1)
				if i >= shards || ctxFailed() {
					return
				}
				entry, dups, err := w.buildShard(b, i, shardBits, newDir)
				if err != nil {
					fail(err)
					next.Store(int64(shards))
					return
				}
				m.Shards[i] = entry
				atomic.AddUint64(&m.Duplicates, dups)
				d := doneKeys.Add(int64(entry.Keys + dups))
				if b.opts.Progress != nil {
					progressMu.Lock()
					if time.Since(lastReport) > 100*time.Millisecond || d == int64(totalKeys) {
						lastReport = time.Now()
						b.opts.Progress(BuildProgress{Stage: StageFilter, Done: d, Total: int64(totalKeys), Keys: b.keys})
					}
					progressMu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, firstErr
	}
	for _, s := range m.Shards {
		m.Keys += s.Keys
		res.Bytes += s.Bytes
	}
	m.BuildSeconds = time.Since(b.start).Seconds()
	mb, err := marshalManifest(m)
	if err != nil {
		return nil, fmt.Errorf("breach build: manifest: %w", err)
	}
	if err := writeFileSync(filepath.Join(newDir, manifestName), mb); err != nil {
		return nil, fmt.Errorf("breach build: manifest: %w", err)
	}
	if err := syncDir(newDir); err != nil {
		return nil, fmt.Errorf("breach build: %w", err)
	}
	if err := swapInto(newDir, out); err != nil {
		return nil, fmt.Errorf("breach build: installing %s: %w", out, err)
	}
	swapped = true
	res.Keys = m.Keys
	res.Duplicates = m.Duplicates
	res.Duration = time.Since(b.start)
	return res, nil
}

// shardWorker keeps one worker's buffers across shards, so memory stays
// at about one (largest) shard per worker.
type shardWorker struct {
	raw  []byte
	keys []uint64
	fp   []uint16
	fuse fuseBuilder
}

func (w *shardWorker) buildShard(b *Builder, i int, shardBits uint, dir string) (manifestShard, uint64, error) {
	fail := func(err error) (manifestShard, uint64, error) {
		return manifestShard{}, 0, fmt.Errorf("breach build: shard 0x%02x: %w", i, err)
	}
	shards := 1 << shardBits
	// Shard i is the run of partition files that share its leading bits.
	per := 1 << (b.partBits - shardBits)
	first := i * per
	var n uint64
	for _, c := range b.counts[first : first+per] {
		n += c
	}
	if n > maxShardKeys {
		return fail(fmt.Errorf("%d keys is more than one shard holds (%d): use more shards", n, maxShardKeys))
	}
	w.raw = grow(w.raw, int(n)*8)
	off := 0
	for p := first; p < first+per; p++ {
		path := b.partPath(p)
		f, err := os.Open(path)
		if err != nil {
			return fail(err)
		}
		size := int(b.counts[p]) * 8
		_, err = io.ReadFull(f, w.raw[off:off+size])
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("reading partition file: %w", err))
		}
		os.Remove(path)
		off += size
	}
	w.keys = grow(w.keys, int(n))
	for j := range w.keys {
		w.keys[j] = binary.LittleEndian.Uint64(w.raw[8*j:])
	}
	keys := sortUnique(w.keys)
	dups := n - uint64(len(keys))
	// Seeds derive from the shard index, so the same input builds the
	// same files.
	params, fp, err := w.fuse.build(keys, 0x5353505242524541^uint64(i)*0x9e3779b97f4a7c15, w.fp)
	if err != nil {
		return fail(err)
	}
	w.fp = fp
	hdr := shardHeader{version: FormatVersion, index: uint32(i), count: uint32(shards), kind: b.opts.Kind, keys: uint64(len(keys)), params: params}
	name := shardFileName(i, shards)
	sum := sha256.New()
	body := fingerprintBytes(fp)
	head := hdr.marshal()
	sum.Write(head)
	sum.Write(body)
	out, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fail(err)
	}
	_, err = out.Write(head)
	if err == nil {
		_, err = out.Write(body)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	return manifestShard{
		Index:  uint32(i),
		File:   name,
		Keys:   uint64(len(keys)),
		Bytes:  int64(len(head) + len(body)),
		Seed:   params.seed,
		SHA256: hex.EncodeToString(sum.Sum(nil)),
	}, dups, nil
}

func (b *Builder) partPath(i int) string {
	return filepath.Join(b.tmp, fmt.Sprintf("%04x.keys", i))
}

// Automatic sharding: from 2^20 keys on, a filter needs 1.125 slots per
// key (18 bits); smaller filters need more. So shards are made as many as
// keeps each at 2^20 keys or more, up to AutoMaxShards, which bounds a
// shard's build memory to about 32 bytes per key of one shard per worker
// for corpora up to a billion keys.
const (
	AutoShardKeys    = 1 << 20
	AutoMaxShards    = 1 << autoMaxShardBits
	autoMaxShardBits = 10
)

func chooseShardBits(requested int, keys uint64) uint {
	if requested > 0 {
		return uint(bitsLen(uint(requested - 1)))
	}
	bits := uint(0)
	for bits < autoMaxShardBits && keys>>(bits+1) >= AutoShardKeys {
		bits++
	}
	return bits
}

// sortUnique sorts keys and removes repeats in place.
func sortUnique(keys []uint64) []uint64 {
	slices.Sort(keys)
	return slices.Compact(keys)
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// swapInto puts the finished directory newDir at out. When out exists the
// two are exchanged in one step where the system can (renameat2 with
// RENAME_EXCHANGE on Linux), then the old corpus is deleted; processes
// that have it mapped keep reading it until they let go.
func swapInto(newDir, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(newDir, out); err != nil {
			return err
		}
		return syncDir(filepath.Dir(out))
	}
	if err := checkReplaceable(out); err != nil {
		return err
	}
	if err := exchange(newDir, out); err == nil {
		// newDir now holds the old corpus.
		syncDir(filepath.Dir(out))
		return os.RemoveAll(newDir)
	}
	// No atomic exchange here: move the old one aside, then the new one
	// in. A reader opening in between finds no corpus and keeps the one
	// it has.
	old := newDir + ".old"
	if err := os.Rename(out, old); err != nil {
		return err
	}
	if err := os.Rename(newDir, out); err != nil {
		os.Rename(old, out)
		return err
	}
	syncDir(filepath.Dir(out))
	return os.RemoveAll(old)
}
