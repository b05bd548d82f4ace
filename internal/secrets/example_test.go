package secrets_test

import (
	"fmt"
	"strings"

	"github.com/sspr/sspr/internal/secrets"
)

func Example() {
	ring, err := secrets.ParseKeyRing(strings.NewReader(`
# sspr keyring
1:8J6xq4t0mR6Y3yq5Wv3m1Zr1o9c0dLkq7m3bQ2w4f7E=
2:gVp+FZIs9/h7uALV2D6pxA6sE/pKBebTm9dGrgCIubQ=
`))
	if err != nil {
		panic(err)
	}
	// Bind the value to where it is stored.
	ad := []byte("enrollment:42:secret")
	sealed, _ := ring.Seal([]byte("JBSWY3DPEHPK3PXP"), ad)
	version, _ := secrets.Version(sealed)
	plain, _ := ring.Open(sealed, ad)
	_, err = ring.Open(sealed, []byte("enrollment:43:secret"))
	fmt.Println(version, string(plain))
	fmt.Println(err)
	// Output:
	// 2 JBSWY3DPEHPK3PXP
	// secrets: sealed value does not authenticate (tampered, wrong associated data or wrong key)
}
