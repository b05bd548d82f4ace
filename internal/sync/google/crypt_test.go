package google_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/sync/google"
)

// The reference vector of the SHA-crypt specification, and, when openssl
// is installed, agreement with `openssl passwd -6` on a few more.
func TestSHA512Crypt(t *testing.T) {
	const want = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	if got := google.SHA512Crypt("Hello world!", "saltstring"); got != want {
		t.Fatalf("got %s", got)
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		return
	}
	for _, pw := range []string{"a", "Ünïcødé-pässwörd", strings.Repeat("long-password-", 10)} {
		salt := google.NewSalt()
		out, err := exec.Command("openssl", "passwd", "-6", "-salt", salt, pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := google.SHA512Crypt(pw, salt); got != strings.TrimSpace(string(out)) {
			t.Fatalf("%q/%s: got %s, openssl %s", pw, salt, got, out)
		}
	}
}
