package questions

import (
	"crypto/rand"
	"encoding/json"

	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/secrets"
)

var _ factor.Decoyer = (*Factor)(nil)

// DecoyEnrollment answers the configured questions (as many as an
// enrollment needs) with random hashes no answer matches, at the
// configured cost: choosing questions without having enrolled them gets a
// challenge like anyone's, and a wrong answer takes as long to refuse.
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	r := record{Version: formatVersion, Params: f.params}
	n := max(f.cfg.Required, f.cfg.Ask)
	for i := 0; i < n && i < len(f.cfg.Questions); i++ {
		e := entry{ID: f.cfg.Questions[i].ID, Salt: make([]byte, 16), Hash: make([]byte, secrets.Argon2idKeyLen)}
		_, _ = rand.Read(e.Salt)
		_, _ = rand.Read(e.Hash)
		r.Entries = append(r.Entries, e)
	}
	secret, _ := json.Marshal(r)
	return factor.Enrollment{ID: "decoy", Kind: factor.Questions, Secret: secret}
}
