package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/sspr/sspr/internal/factor"
)

var _ factor.Decoyer = (*Factor)(nil)

// DecoyEnrollment is a credential with a random ID and a key nobody holds:
// no authenticator can answer for it. Before a first factor sspr lists no
// credential at all (ChallengeAll with none), for real and decoy flows
// alike; a decoy enrollment is what a decoy's answer is checked against,
// and what is listed for a verified person who has no passkey.
func (f *Factor) DecoyEnrollment(s factor.Subject) factor.Enrollment {
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: key.X.FillBytes(make([]byte, 32)), YCoord: key.Y.FillBytes(make([]byte, 32)),
	}
	cose, _ := webauthncbor.Marshal(pub)
	c := Credential{V: 1, ID: id, PublicKey: cose, UserHandle: f.UserHandle(s), Transports: []string{"internal", "hybrid"}}
	secret, _ := json.Marshal(c)
	return factor.Enrollment{ID: "decoy", Kind: factor.Passkey, Secret: secret}
}
