package breach

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	const full = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8" // SHA-1 of "password"
	tests := []struct {
		line   string
		prefix string
		kind   Kind
		ok     bool
		count  int64
		err    string
	}{
		{full + ":3861493", "", SHA1, true, 3861493, ""},
		{full + ":3861493\r\n", "", SHA1, true, 3861493, ""},
		{strings.ToLower(full) + ":1", "", SHA1, true, 1, ""},
		{"  " + full + " : 2 ", "", SHA1, true, 2, ""},
		{full, "", SHA1, true, 1, ""},
		{"\xef\xbb\xbf" + full + ":1", "", SHA1, true, 1, ""},
		{full[5:] + ":7", "5BAA6", SHA1, true, 7, ""},
		{full[5:] + ":7", "5baa6", SHA1, true, 7, ""},
		{full + ":7", "5BAA6", SHA1, true, 7, ""},
		{"", "", SHA1, false, 0, ""},
		{"\r\n", "", SHA1, false, 0, ""},
		{"# comment", "", SHA1, false, 0, ""},
		{full[5:] + ":7", "", SHA1, false, 0, "want 40"},
		{full[6:] + ":7", "5BAA6", SHA1, false, 0, "want 35"},
		{"G" + full[1:] + ":1", "", SHA1, false, 0, "not hexadecimal"},
		{full + ":", "", SHA1, false, 0, "empty count"},
		{full + ":-1", "", SHA1, false, 0, "not a decimal"},
		{full + ":99999999999999999999", "", SHA1, false, 0, "overflows"},
		{"8846F7EAEE8FB117AD06BDD830B7586C:5", "", NTLM, true, 5, ""},
		{"7EAEE8FB117AD06BDD830B7586C:5", "8846F", NTLM, true, 5, ""},
		{full + ":1", "", NTLM, false, 0, "want 32"},
	}
	for _, tt := range tests {
		l, ok, err := ParseLine([]byte(tt.line), tt.prefix, tt.kind)
		if ok != tt.ok || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("ParseLine(%q, %q) = %v, %v; want ok=%v err~%q", tt.line, tt.prefix, ok, err, tt.ok, tt.err)
			continue
		}
		if ok && l.Count != tt.count {
			t.Errorf("ParseLine(%q) count = %d, want %d", tt.line, l.Count, tt.count)
		}
	}
	l, _, _ := ParseLine([]byte(full+":1"), "", SHA1)
	if l.Digest != SHA1.Digest("password") {
		t.Errorf("digest %x", l.Digest)
	}
	l, _, _ = ParseLine([]byte("7EAEE8FB117AD06BDD830B7586C:5"), "8846F", NTLM)
	if l.Digest != NTLM.Digest("password") {
		t.Errorf("ntlm digest %x", l.Digest)
	}
}

func TestRangePrefix(t *testing.T) {
	for name, want := range map[string]string{
		"/x/00000.txt":    "00000",
		"/x/abcde":        "ABCDE",
		"/x/FFFFF.txt.gz": "FFFFF",
		"/x/pwned.txt":    "",
		"/x/ABCDEF.txt":   "",
		"/x/ABCDG.txt":    "",
	} {
		if got := rangePrefix(name); got != want {
			t.Errorf("rangePrefix(%q) = %q, want %q", name, got, want)
		}
	}
}

// FuzzParseLine checks that no line crashes the parser and that an
// accepted line means what it says: formatting its hash and count again
// parses to the same thing.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3861493\r\n"), "", false)
	f.Add([]byte("1E4C9B93F3F0682250B6CF8331B7EE68FD8:10"), "5BAA6", false)
	f.Add([]byte("8846F7EAEE8FB117AD06BDD830B7586C:5"), "", true)
	f.Add([]byte(":"), "", false)
	f.Add([]byte("\xef\xbb\xbf # x"), "ABCDE", true)
	f.Fuzz(func(t *testing.T, line []byte, prefix string, ntlm bool) {
		kind := SHA1
		if ntlm {
			kind = NTLM
		}
		if rangePrefix(prefix) != strings.ToUpper(prefix) {
			prefix = "" // only well-formed prefixes reach ParseLine
		}
		l, ok, err := ParseLine(line, prefix, kind)
		if ok && err != nil {
			t.Fatal("ok with an error")
		}
		if !ok {
			return
		}
		if l.Count < 0 {
			t.Fatalf("negative count %d", l.Count)
		}
		for _, b := range l.Digest[kind.Size():] {
			if b != 0 {
				t.Fatalf("digest bytes past %d set: %x", kind.Size(), l.Digest)
			}
		}
		again := strings.ToUpper(hex.EncodeToString(l.Digest[:kind.Size()])) + ":" + itoa(l.Count)
		l2, ok2, err2 := ParseLine([]byte(again), "", kind)
		if !ok2 || err2 != nil || l2 != l {
			t.Fatalf("%q parsed to %+v, its re-encoding %q to %+v, %v", line, l, again, l2, err2)
		}
		if prefix != "" && !strings.HasPrefix(again, strings.ToUpper(prefix)) && len(trimBlanks(line)) < 2*kind.Size() {
			t.Fatalf("suffix line %q lost its prefix %q", line, prefix)
		}
	})
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
