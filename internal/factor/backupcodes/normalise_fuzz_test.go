package backupcodes

import (
	"testing"
	"unicode/utf8"
)

// FuzzNormalise: typed codes are normalised to the code alphabet and
// length, or refused.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"abcde-fghij", "ABCDE FGHIJ", "0O1Il-xxxxx", "", "ééééé-ééééé"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := normalise(in, 10)
		if ok && (utf8.RuneCountInString(got) != 10) {
			t.Fatalf("normalise(%q) = %q", in, got)
		}
	})
}
