package mmdbtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"sort"
)

type node struct {
	child [2]*node
	data  [2]int // index+1 into the data list; 0 none
}

// Countries writes a database mapping each IPv4 network (CIDR) to a
// country ISO code ({"country": {"iso_code": code}}, as GeoLite2-Country
// has it) at path. Networks must not overlap.
func Countries(path string, networks map[string]string) error {
	b, err := Build(networks)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// Build returns the database bytes (see Countries).
func Build(networks map[string]string) ([]byte, error) {
	root := &node{}
	var codes []string
	index := map[string]int{}
	keys := make([]string, 0, len(networks))
	for k := range networks {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, cidr := range keys {
		p, err := netip.ParsePrefix(cidr)
		if err != nil || !p.Addr().Is4() || p.Bits() < 1 {
			return nil, fmt.Errorf("mmdbtest: %q is not an IPv4 network of at least one bit", cidr)
		}
		code := networks[cidr]
		if _, ok := index[code]; !ok {
			codes = append(codes, code)
			index[code] = len(codes)
		}
		a := p.Masked().Addr().As4()
		n := root
		for i := 0; i < p.Bits(); i++ {
			bit := (a[i/8] >> (7 - i%8)) & 1
			if i == p.Bits()-1 {
				n.data[bit] = index[code]
				break
			}
			if n.child[bit] == nil {
				n.child[bit] = &node{}
			}
			n = n.child[bit]
		}
	}
	// Number the nodes breadth first (the root is node 0).
	var order []*node
	num := map[*node]int{}
	queue := []*node{root}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		num[n] = len(order)
		order = append(order, n)
		for _, c := range n.child {
			if c != nil {
				queue = append(queue, c)
			}
		}
	}
	// The data section: one map per country.
	var data bytes.Buffer
	offsets := make([]int, len(codes)+1)
	for i, code := range codes {
		offsets[i+1] = data.Len()
		writeMap(&data, 1)
		writeString(&data, "country")
		writeMap(&data, 1)
		writeString(&data, "iso_code")
		writeString(&data, code)
	}
	count := len(order)
	var out bytes.Buffer
	for _, n := range order {
		for side := range 2 {
			v := count // no data
			switch {
			case n.child[side] != nil:
				v = num[n.child[side]]
			case n.data[side] != 0:
				v = count + 16 + offsets[n.data[side]]
			}
			out.Write([]byte{byte(v >> 16), byte(v >> 8), byte(v)})
		}
	}
	out.Write(make([]byte, 16)) // the data section separator
	out.Write(data.Bytes())
	out.WriteString("\xab\xcd\xefMaxMind.com")
	writeMap(&out, 9)
	writeString(&out, "binary_format_major_version")
	writeUint(&out, 5, 2)
	writeString(&out, "binary_format_minor_version")
	writeUint(&out, 5, 0)
	writeString(&out, "build_epoch")
	writeUint(&out, 9, 1_700_000_000)
	writeString(&out, "database_type")
	writeString(&out, "sspr-test-Country")
	writeString(&out, "description")
	writeMap(&out, 1)
	writeString(&out, "en")
	writeString(&out, "sspr test database")
	writeString(&out, "ip_version")
	writeUint(&out, 5, 4)
	writeString(&out, "languages")
	writeControl(&out, 11, 1)
	writeString(&out, "en")
	writeString(&out, "node_count")
	writeUint(&out, 6, uint64(count))
	writeString(&out, "record_size")
	writeUint(&out, 5, 24)
	return out.Bytes(), nil
}

// writeControl writes a field's control byte(s): the type in the top three
// bits (extended types after it), the size in the low five.
func writeControl(b *bytes.Buffer, typ byte, size int) {
	var sizeBits byte
	var extra []byte
	switch {
	case size < 29:
		sizeBits = byte(size)
	case size < 29+256:
		sizeBits, extra = 29, []byte{byte(size - 29)}
	default:
		sizeBits = 30
		s := size - 285
		extra = []byte{byte(s >> 8), byte(s)}
	}
	if typ <= 7 {
		b.WriteByte(typ<<5 | sizeBits)
	} else {
		b.WriteByte(sizeBits)
		b.WriteByte(typ - 7)
	}
	b.Write(extra)
}

func writeMap(b *bytes.Buffer, pairs int) { writeControl(b, 7, pairs) }

func writeString(b *bytes.Buffer, s string) {
	writeControl(b, 2, len(s))
	b.WriteString(s)
}

// writeUint writes an unsigned integer of type typ (5 uint16, 6 uint32,
// 9 uint64) in as few bytes as it needs.
func writeUint(b *bytes.Buffer, typ byte, v uint64) {
	var full [8]byte
	binary.BigEndian.PutUint64(full[:], v)
	i := 0
	for i < 8 && full[i] == 0 {
		i++
	}
	writeControl(b, typ, 8-i)
	b.Write(full[i:])
}
