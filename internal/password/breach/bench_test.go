package breach

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"sync"
	"testing"
)

var benchCorpus struct {
	once sync.Once
	c    *Corpus
	err  error
}

// benchDigest is the i-th synthetic SHA-1 digest of a stream.
func benchDigest(stream, i uint64) (d [20]byte) {
	s := stream<<40 ^ i*0x9e3779b97f4a7c15
	binary.LittleEndian.PutUint64(d[0:], splitmix64(&s))
	binary.LittleEndian.PutUint64(d[8:], splitmix64(&s))
	binary.LittleEndian.PutUint32(d[16:], uint32(splitmix64(&s)))
	return d
}

const benchKeys = 4 << 20

// openBenchCorpus builds a 4-million-key corpus once per test binary.
func openBenchCorpus(b *testing.B) *Corpus {
	benchCorpus.once.Do(func() {
		dir := filepath.Join(b.TempDir(), "corpus")
		bl, err := NewBuilder(BuildOptions{Out: dir})
		if err != nil {
			benchCorpus.err = err
			return
		}
		for i := range uint64(benchKeys) {
			d := benchDigest(1, i)
			bl.Add(d[:])
		}
		if _, err := bl.Finish(context.Background()); err != nil {
			benchCorpus.err = err
			return
		}
		benchCorpus.c, benchCorpus.err = Open(dir)
	})
	if benchCorpus.err != nil {
		b.Fatal(benchCorpus.err)
	}
	return benchCorpus.c
}

// BenchmarkContains measures lookups of hashes, present and absent, on a
// warm 4-million-key corpus, and of passwords (hashing included).
func BenchmarkContains(b *testing.B) {
	c := openBenchCorpus(b)
	b.Run("hash-present", func(b *testing.B) {
		var s uint64 = 99
		for b.Loop() {
			d := benchDigest(1, splitmix64(&s)%benchKeys)
			if !c.ContainsHash(d) {
				b.Fatal("present key not found")
			}
		}
	})
	b.Run("hash-absent", func(b *testing.B) {
		var i uint64
		for b.Loop() {
			i++
			c.ContainsHash(benchDigest(2, i))
		}
	})
	b.Run("hash-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var s uint64 = 7
			for pb.Next() {
				c.ContainsHash(benchDigest(3, splitmix64(&s)))
			}
		})
	})
	b.Run("password-sha1", func(b *testing.B) {
		for b.Loop() {
			c.Contains("correct horse battery staple")
		}
	})
	b.Run("checker", func(b *testing.B) {
		k := NewChecker("")
		cc, err := Open(c.Stats().Dir)
		if err != nil {
			b.Fatal(err)
		}
		k.Swap(cc)
		defer k.Close()
		for b.Loop() {
			k.Check("correct horse battery staple")
		}
	})
}
