package totp

import (
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

var _ factor.Decoyer = (*Factor)(nil)

// DecoyEnrollment is an enrollment with a random seed and the configured
// parameters: its challenge looks like anyone's, and nobody knows its seed.
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	p := params{Algorithm: f.cfg.Algorithm, Digits: f.cfg.Digits, Period: int64(f.cfg.Period / time.Second)}
	seed := make([]byte, p.Algorithm.seedSize())
	_, _ = rand.Read(seed)
	secret, _ := json.Marshal(record{Version: 1, Seed: seed, params: p})
	return factor.Enrollment{ID: "decoy", Kind: factor.TOTP, Secret: secret}
}
