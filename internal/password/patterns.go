package password

import (
	"slices"
	"sync"
	"unicode/utf8"
)

// sequenceRows are runs people type without thinking: keyboard rows of the
// common Latin layouts (unshifted and, for qwerty, shifted), the alphabet and
// the digits. They are matched forwards and backwards, lowercased.
var sequenceRows = []string{
	// alphabet and digits
	"abcdefghijklmnopqrstuvwxyz",
	"0123456789012345678", // digits wrap around: 7890, 8901
	// qwerty (US)
	"`1234567890-=",
	"~!@#$%^&*()_+",
	"qwertyuiop[]\\",
	"asdfghjkl;'",
	"zxcvbnm,./",
	// qwertz (German)
	"^1234567890ß´",
	"qwertzuiopü+",
	"asdfghjklöä#",
	"<yxcvbnm,.-",
	// azerty (French)
	"²&é\"'(-è_çà)=",
	"azertyuiop^$",
	"qsdfghjklmù*",
	"<wxcvbn,;:!",
}

var (
	seqMu     sync.Mutex
	seqTables = map[int]map[string]struct{}{}
)

// sequenceTable returns every run of n runes found in a sequence row,
// forwards or backwards.
func sequenceTable(n int) map[string]struct{} {
	seqMu.Lock()
	defer seqMu.Unlock()
	if t, ok := seqTables[n]; ok {
		return t
	}
	t := map[string]struct{}{}
	for _, row := range sequenceRows {
		rs := []rune(row)
		rev := slices.Clone(rs)
		slices.Reverse(rev)
		for _, r := range [][]rune{rs, rev} {
			for i := 0; i+n <= len(r); i++ {
				t[string(r[i:i+n])] = struct{}{}
			}
		}
	}
	seqTables[n] = t
	return t
}

// hasSequence reports whether lower (lowercased runes) contains a run of n
// runes from table.
func hasSequence(lower []rune, n int, table map[string]struct{}) bool {
	var buf [64]byte
	for i := 0; i+n <= len(lower); i++ {
		b := buf[:0]
		for _, r := range lower[i : i+n] {
			b = utf8.AppendRune(b, r)
		}
		if _, ok := table[string(b)]; ok { // no allocation for map lookups
			return true
		}
	}
	return false
}

// hasRepeat reports whether some rune appears n times in a row.
func hasRepeat(lower []rune, n int) bool {
	run := 0
	for i, r := range lower {
		if i > 0 && r == lower[i-1] {
			run++
		} else {
			run = 1
		}
		if run >= n {
			return true
		}
	}
	return false
}

// isPalindrome reports whether lower reads the same backwards; passwords
// shorter than 3 runes are not called palindromes.
func isPalindrome(lower []rune) bool {
	if len(lower) < 3 {
		return false
	}
	for i, j := 0, len(lower)-1; i < j; i, j = i+1, j-1 {
		if lower[i] != lower[j] {
			return false
		}
	}
	return true
}
