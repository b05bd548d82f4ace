package breach

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unsafe"
)

// FormatVersion is the corpus format this package writes and reads.
const FormatVersion = 1

const (
	manifestName   = "manifest.json"
	manifestFormat = "sspr-breach-corpus"
	shardMagic     = "SSPRBF16"
	headerSize     = 64 // keeps the fingerprint array aligned in the mapping
	// MaxShards bounds the shard count (each is one open file during a build).
	MaxShards = 4096
)

// shardHeader is the fixed 64-byte little-endian header of a shard file:
//
//	0  magic "SSPRBF16"      32 keys u64
//	8  version u32           40 segment length u32
//	12 shard index u32       44 segment count u32
//	16 shard count u32       48 array length u32 (fingerprints)
//	20 kind u32              52 reserved, zero
//	24 seed u64
//
// followed by array-length little-endian uint16 fingerprints.
type shardHeader struct {
	version uint32
	index   uint32
	count   uint32
	kind    Kind
	keys    uint64
	params  fuseParams
}

func (h *shardHeader) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, shardMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], h.version)
	le.PutUint32(b[12:], h.index)
	le.PutUint32(b[16:], h.count)
	le.PutUint32(b[20:], uint32(h.kind))
	le.PutUint64(b[24:], h.params.seed)
	le.PutUint64(b[32:], h.keys)
	le.PutUint32(b[40:], h.params.segmentLength)
	le.PutUint32(b[44:], h.params.segmentCount)
	le.PutUint32(b[48:], h.params.arrayLength)
	return b
}

func parseShardHeader(b []byte) (shardHeader, error) {
	var h shardHeader
	if len(b) < headerSize {
		return h, errors.New("shorter than its header")
	}
	if string(b[:8]) != shardMagic {
		return h, errors.New("not a shard file (bad magic)")
	}
	le := binary.LittleEndian
	h.version = le.Uint32(b[8:])
	h.index = le.Uint32(b[12:])
	h.count = le.Uint32(b[16:])
	h.kind = Kind(le.Uint32(b[20:]))
	h.params.seed = le.Uint64(b[24:])
	h.keys = le.Uint64(b[32:])
	h.params.segmentLength = le.Uint32(b[40:])
	h.params.segmentCount = le.Uint32(b[44:])
	h.params.arrayLength = le.Uint32(b[48:])
	h.params.segmentCountLength = h.params.segmentCount * h.params.segmentLength
	if h.version != FormatVersion {
		return h, fmt.Errorf("format version %d, this program reads %d", h.version, FormatVersion)
	}
	if !h.params.valid() {
		return h, errors.New("inconsistent filter parameters")
	}
	return h, nil
}

// manifest is manifest.json: what the corpus is, where it came from, and
// a checksum of every shard file.
type manifest struct {
	Format          string          `json:"format"`
	Version         int             `json:"version"`
	Kind            Kind            `json:"kind"`
	Filter          string          `json:"filter"`
	FingerprintBits int             `json:"fingerprint_bits"`
	ShardBits       uint            `json:"shard_bits"`
	Keys            uint64          `json:"keys"`
	Duplicates      uint64          `json:"duplicates"`
	InputLines      uint64          `json:"input_lines"`
	SkippedLines    uint64          `json:"skipped_lines"`
	MalformedLines  uint64          `json:"malformed_lines"`
	BuiltAt         time.Time       `json:"built_at"`
	BuildSeconds    float64         `json:"build_seconds"`
	Source          string          `json:"source"`
	Checksum        string          `json:"checksum"`
	Shards          []manifestShard `json:"shards"`
}

type manifestShard struct {
	Index  uint32 `json:"index"`
	File   string `json:"file"`
	Keys   uint64 `json:"keys"`
	Bytes  int64  `json:"bytes"`
	Seed   uint64 `json:"seed"`
	SHA256 string `json:"sha256"`
}

func shardFileName(i, count int) string {
	width := max(2, (bitsLen(uint(count-1))+3)/4)
	return fmt.Sprintf("shard-%0*x.bf16", width, i)
}

func bitsLen(x uint) int {
	n := 0
	for x != 0 {
		n++
		x >>= 1
	}
	return n
}

func (m *manifest) validate() error {
	switch {
	case m.Format != manifestFormat:
		return fmt.Errorf("format %q is not %q", m.Format, manifestFormat)
	case m.Version != FormatVersion:
		return fmt.Errorf("format version %d, this program reads %d", m.Version, FormatVersion)
	case !m.Kind.valid():
		return errors.New("no hash kind")
	case m.FingerprintBits != 16:
		return fmt.Errorf("%d-bit fingerprints, this program reads 16", m.FingerprintBits)
	case m.Checksum != "sha256":
		return fmt.Errorf("checksum %q, this program reads sha256", m.Checksum)
	case m.ShardBits > 12 || len(m.Shards) != 1<<m.ShardBits:
		return fmt.Errorf("%d shards listed for %d shard bits", len(m.Shards), m.ShardBits)
	}
	var sum uint64
	for i, s := range m.Shards {
		if s.Index != uint32(i) || s.File != shardFileName(i, len(m.Shards)) {
			return fmt.Errorf("shard entry %d names shard %d file %q", i, s.Index, s.File)
		}
		if len(s.SHA256) != 64 {
			return fmt.Errorf("shard entry %d has no sha256", i)
		}
		sum += s.Keys
	}
	if sum != m.Keys {
		return fmt.Errorf("shards hold %d keys, manifest says %d", sum, m.Keys)
	}
	return nil
}

func marshalManifest(m *manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// nativeLittleEndian reports whether uint16 slices can be viewed as
// little-endian bytes in place (true on amd64, arm64, ...).
var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// fingerprintBytes returns fp as little-endian bytes, without copying on
// little-endian machines.
func fingerprintBytes(fp []uint16) []byte {
	if len(fp) == 0 {
		return nil
	}
	if nativeLittleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&fp[0])), 2*len(fp))
	}
	b := make([]byte, 2*len(fp))
	for i, v := range fp {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return b
}

// fingerprintView returns b (little-endian uint16s, 2-byte aligned) as a
// []uint16: in place on little-endian machines, decoded otherwise.
func fingerprintView(b []byte) []uint16 {
	n := len(b) / 2
	if n == 0 {
		return nil
	}
	if nativeLittleEndian {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
	}
	fp := make([]uint16, n)
	for i := range fp {
		fp[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return fp
}
