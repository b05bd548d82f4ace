package breach

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Line is one parsed line of a Pwned Passwords file.
type Line struct {
	// Digest is the hash; an NTLM hash fills the first 16 bytes.
	Digest [20]byte
	// Count is how often the password was seen in breaches; 1 when the
	// line gives no count. The range API pads its answers with count-0
	// lines, which Build skips.
	Count int64
}

var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := byte(0); i < 10; i++ {
		t['0'+i] = i
	}
	for i := byte(0); i < 6; i++ {
		t['a'+i] = 10 + i
		t['A'+i] = 10 + i
	}
	return t
}()

// RangePrefixLen is the length of the hex prefix that names a file in the
// range layout (the layout of the range API and the official downloader).
const RangePrefixLen = 5

// ParseLine parses one line of a Pwned Passwords file of the given kind:
// "HASH:COUNT" with the full hex hash, or, when prefix is the 5-hex prefix
// of a range-layout file, "SUFFIX:COUNT" with the rest of the hash. A full
// hash is accepted in a range file too. Hex may be either case; a trailing
// CR and surrounding blanks are ignored; ":COUNT" may be missing.
//
// ok is false, with a nil error, for a blank line or a "#" comment. err
// says what is wrong with a malformed line.
func ParseLine(line []byte, prefix string, kind Kind) (l Line, ok bool, err error) {
	line = trimBlanks(line)
	if len(line) == 0 || line[0] == '#' {
		return l, false, nil
	}
	hexPart, countPart := line, []byte(nil)
	hasCount := false
	for i, c := range line {
		if c == ':' {
			hexPart, countPart, hasCount = trimBlanks(line[:i]), trimBlanks(line[i+1:]), true
			break
		}
	}
	full := 2 * kind.Size()
	var digits [40]byte
	switch {
	case len(hexPart) == full:
		copy(digits[:], hexPart)
	case prefix != "" && len(prefix)+len(hexPart) == full:
		copy(digits[:], prefix)
		copy(digits[len(prefix):], hexPart)
	case prefix != "":
		return l, false, fmt.Errorf("hash suffix has %d hex digits, want %d (or a full %d-digit %s hash)", len(hexPart), full-len(prefix), full, kind)
	default:
		return l, false, fmt.Errorf("hash has %d hex digits, want %d for %s", len(hexPart), full, kind)
	}
	for i := 0; i < full; i += 2 {
		hi, lo := hexValue[digits[i]], hexValue[digits[i+1]]
		if hi > 15 || lo > 15 {
			return l, false, errors.New("hash is not hexadecimal")
		}
		l.Digest[i/2] = hi<<4 | lo
	}
	l.Count = 1
	if hasCount {
		if len(countPart) == 0 {
			return l, false, errors.New("empty count after ':'")
		}
		var n int64
		for _, c := range countPart {
			if c < '0' || c > '9' {
				return l, false, errors.New("count is not a decimal number")
			}
			if n > (1<<63-1-9)/10 {
				return l, false, errors.New("count overflows")
			}
			n = n*10 + int64(c-'0')
		}
		l.Count = n
	}
	return l, true, nil
}

func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\r' || b[len(b)-1] == '\n' || b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\xef') {
		if b[0] == '\xef' { // a UTF-8 byte-order mark, as some editors write
			if len(b) >= 3 && b[1] == '\xbb' && b[2] == '\xbf' {
				b = b[3:]
				continue
			}
			break
		}
		b = b[1:]
	}
	return b
}

// rangePrefix returns the upper-case hash prefix a file name gives in the
// range layout ("0A1B2", "0A1B2.txt", "0a1b2.txt.gz"), or "".
func rangePrefix(path string) string {
	name := filepath.Base(path)
	name = strings.TrimSuffix(name, ".gz")
	name = strings.TrimSuffix(name, ".txt")
	if len(name) != RangePrefixLen {
		return ""
	}
	for i := 0; i < len(name); i++ {
		if hexValue[name[i]] == 0xff {
			return ""
		}
	}
	return strings.ToUpper(name)
}
