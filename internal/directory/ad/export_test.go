package ad

import "context"

// The attribute lists, for the lookup benchmark (ad_test).
var (
	LookupStatusAttrs = lookupStatusAttrs
	StoredStatusAttrs = storedStatusAttrs
	StatusAttrs       = statusAttrs
)

// HoldWriteTurns takes n of d's turns to write (write_concurrency) and
// returns their release, for tests of what waits for a turn.
func HoldWriteTurns(t interface{ Fatal(...any) }, d *Directory, n int) (release func()) {
	var releases []func()
	for range n {
		r, err := d.client.AcquireWrite(context.Background(), "test")
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	return func() {
		for _, r := range releases {
			r()
		}
	}
}
