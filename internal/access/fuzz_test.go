package access

import (
	"testing"
)

// FuzzDeviceCheck: a device token of any shape is refused without panic
// unless it was issued by the ring.
func FuzzDeviceCheck(f *testing.F) {
	f.Add("d1.1.1700000000.AAAA.BBBB")
	f.Add("d1.4294967296.1.x.y")
	f.Add("....")
	d := testDevices()
	f.Fuzz(func(t *testing.T, s string) {
		_ = d.Check(s, testNow)
	})
}
