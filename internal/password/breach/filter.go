package breach

import (
	"errors"
	"math"
	"math/bits"
)

// The filter is a 3-wise binary fuse filter with 16-bit fingerprints
// (Graf & Lemire, "Binary Fuse Filters: Fast and Smaller Than Xor Filters",
// 2022). Each key is hashed to three slots in consecutive segments of the
// fingerprint array; the XOR of the three slots equals the key's
// fingerprint. It is written here rather than imported so that the
// fingerprint array can be used straight from a read-only memory mapping.

// fuseParams are the shape of one filter; together with the fingerprint
// array they are everything a lookup needs.
type fuseParams struct {
	seed               uint64
	segmentLength      uint32 // a power of two
	segmentCount       uint32 // segments a key's first slot may fall into
	segmentCountLength uint32 // segmentCount * segmentLength
	arrayLength        uint32 // (segmentCount + 2) * segmentLength
}

const (
	fuseArity        = 3
	maxSegmentLength = 1 << 18
	// maxShardKeys bounds one shard so every index fits in 32 bits.
	maxShardKeys = 1<<32/2 - 1
)

// newFuseParams sizes a filter for n distinct keys, following the
// parameters the paper's authors found to build reliably.
func newFuseParams(n uint32) fuseParams {
	var segLen uint32 = 4
	if n > 1 {
		segLen = 1 << int(math.Floor(math.Log(float64(n))/math.Log(3.33)+2.25))
	}
	segLen = min(segLen, maxSegmentLength)
	var capacity uint32
	if n > 1 {
		factor := math.Max(1.125, 0.875+0.25*math.Log(1e6)/math.Log(float64(n)))
		capacity = uint32(math.Round(float64(n) * factor))
	}
	segs := (capacity + segLen - 1) / segLen
	if segs <= fuseArity-1 {
		segs = 1
	} else {
		segs -= fuseArity - 1
	}
	return fuseParams{
		segmentLength:      segLen,
		segmentCount:       segs,
		segmentCountLength: segs * segLen,
		arrayLength:        (segs + fuseArity - 1) * segLen,
	}
}

// valid reports whether the parameters are self-consistent, so that every
// slot positions returns lies inside an array of arrayLength entries.
func (p *fuseParams) valid() bool {
	return p.segmentLength != 0 && p.segmentLength&(p.segmentLength-1) == 0 &&
		p.segmentLength <= maxSegmentLength && p.segmentCount != 0 &&
		uint64(p.segmentCount)*uint64(p.segmentLength) == uint64(p.segmentCountLength) &&
		uint64(p.segmentCount+fuseArity-1)*uint64(p.segmentLength) == uint64(p.arrayLength)
}

// mix is the MurmurHash3 64-bit finalizer over key+seed: a bijection, so
// distinct keys never collide on the hash.
func mix(key, seed uint64) uint64 {
	h := key + seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func fingerprint(hash uint64) uint16 { return uint16(hash ^ hash>>32) }

// positions returns the three slots of a hash: one in a segment chosen by
// the high bits, and one in each of the next two segments.
func (p *fuseParams) positions(hash uint64) (uint32, uint32, uint32) {
	hi, _ := bits.Mul64(hash, uint64(p.segmentCountLength))
	h0 := uint32(hi)
	h1 := h0 + p.segmentLength
	h2 := h1 + p.segmentLength
	mask := p.segmentLength - 1
	h1 ^= uint32(hash>>18) & mask
	h2 ^= uint32(hash) & mask
	return h0, h1, h2
}

// contains reports whether key may be in the filter whose fingerprints
// are fp (len(fp) == p.arrayLength).
func (p *fuseParams) contains(fp []uint16, key uint64) bool {
	hash := mix(key, p.seed)
	h0, h1, h2 := p.positions(hash)
	return fingerprint(hash)^fp[h0]^fp[h1]^fp[h2] == 0
}

func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	z := *state
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// fuseBuilder holds the scratch arrays of a construction so that one
// worker building many shards allocates them once.
type fuseBuilder struct {
	count    []uint8  // per slot: keys<<2 | xor of the keys' slot indexes (0..2)
	xorHash  []uint64 // per slot: xor of the hashes of its keys
	queue    []uint32 // slots holding exactly one key
	order    []uint64 // hashes, bucketed by segment; then the peeling stack
	orderIdx []uint8  // for the stack: which of its three slots a key owns
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

const maxFuseAttempts = 100

var errFuseFailed = errors.New("binary fuse construction failed after 100 seeds (duplicate keys?)")

// build constructs a filter over keys, which must be distinct. seedState
// makes the seeds, and so the output, reproducible. fp is reused if large
// enough.
func (b *fuseBuilder) build(keys []uint64, seedState uint64, fp []uint16) (fuseParams, []uint16, error) {
	if len(keys) > maxShardKeys {
		return fuseParams{}, nil, errors.New("too many keys for one shard: use more shards")
	}
	n := uint32(len(keys))
	p := newFuseParams(n)
	fp = grow(fp, int(p.arrayLength))
	if n == 0 {
		p.seed = splitmix64(&seedState)
		return p, fp, nil
	}
	size := int(p.arrayLength)
	b.count = grow(b.count, size)
	b.xorHash = grow(b.xorHash, size)
	b.queue = grow(b.queue, size)
	b.order = grow(b.order, int(n)+1)
	b.orderIdx = grow(b.orderIdx, int(n))

	blockBits := 1
	for 1<<blockBits < p.segmentCount {
		blockBits++
	}
	start := make([]uint32, 1<<blockBits)
	var slots [5]uint32
	for attempt := 0; ; attempt++ {
		if attempt == maxFuseAttempts {
			return fuseParams{}, nil, errFuseFailed
		}
		p.seed = splitmix64(&seedState)
		if attempt > 0 {
			clear(b.count)
			clear(b.xorHash)
			clear(b.order)
		}
		// Bucket the hashes by their high bits, which roughly sorts them
		// by first slot: the adds below then walk memory in order. A zero
		// entry marks a free place; order[n] = 1 is a sentinel.
		b.order[n] = 1
		for i := range start {
			start[i] = uint32(uint64(i) * uint64(n) >> blockBits)
		}
		for _, k := range keys {
			h := mix(k, p.seed)
			blk := h >> (64 - blockBits)
			for b.order[start[blk]] != 0 {
				blk = (blk + 1) & (1<<blockBits - 1)
			}
			b.order[start[blk]] = h
			start[blk]++
		}
		// A zero hash would be taken for a free place; with a 64-bit
		// bijective hash this happens for one key in 2^64, and a new
		// seed fixes it.
		zero := false
		overflow := false
		for _, h := range b.order[:n] {
			if h == 0 {
				zero = true
				break
			}
			h0, h1, h2 := p.positions(h)
			b.count[h0] += 4
			b.xorHash[h0] ^= h
			b.count[h1] += 4
			b.count[h1] ^= 1
			b.xorHash[h1] ^= h
			b.count[h2] += 4
			b.count[h2] ^= 2
			b.xorHash[h2] ^= h
			// The count has 6 bits; 64 keys on one slot wraps it.
			if b.count[h0] < 4 || b.count[h1] < 4 || b.count[h2] < 4 {
				overflow = true
			}
		}
		if zero || overflow {
			continue
		}
		// Peel: repeatedly take a slot with a single key, record that the
		// key owns it, and remove the key from its other two slots.
		q := 0
		for i := range uint32(size) {
			if b.count[i]>>2 == 1 {
				b.queue[q] = i
				q++
			}
		}
		stack := 0
		for q > 0 {
			q--
			slot := b.queue[q]
			if b.count[slot]>>2 != 1 {
				continue
			}
			h := b.xorHash[slot]
			found := b.count[slot] & 3
			b.orderIdx[stack] = found
			b.order[stack] = h
			stack++
			h0, h1, h2 := p.positions(h)
			slots[0], slots[1], slots[2], slots[3], slots[4] = h0, h1, h2, h0, h1
			for j := uint8(1); j <= 2; j++ {
				other := slots[found+j]
				if b.count[other]>>2 == 2 {
					b.queue[q] = other
					q++
				}
				idx := (found + j) % 3
				b.count[other] -= 4
				b.count[other] ^= idx
				b.xorHash[other] ^= h
			}
		}
		if stack == int(n) {
			break
		}
	}
	// Assign fingerprints in reverse peeling order: each key's owned slot
	// is set last, so the XOR of its three slots is its fingerprint.
	for i := int(n) - 1; i >= 0; i-- {
		h := b.order[i]
		h0, h1, h2 := p.positions(h)
		slots[0], slots[1], slots[2], slots[3], slots[4] = h0, h1, h2, h0, h1
		found := b.orderIdx[i]
		fp[slots[found]] = fingerprint(h) ^ fp[slots[found+1]] ^ fp[slots[found+2]]
	}
	return p, fp, nil
}
