package attributes

import "testing"

// FuzzNormalise: answers in any form are normalised or refused, never a
// panic; a date normalises to YYYY-MM-DD.
func FuzzNormalise(f *testing.F) {
	for _, s := range []string{"1990-01-31", "31.01.1990", "01/31/1990", "19900131000000Z", "31.02.1990", "12 345", ""} {
		f.Add(s, "date", "DMY", false)
		f.Add(s, "digits", "", true)
	}
	f.Fuzz(func(t *testing.T, v, normaliser, order string, fromDirectory bool) {
		got, ok := normalise(Attribute{Normaliser: normaliser, DateOrder: order}, v, fromDirectory)
		if ok && got != "" && normaliser == "date" && (len(got) != 10 || got[4] != '-' || got[7] != '-') {
			t.Fatalf("date %q normalised to %q", v, got)
		}
	})
}
