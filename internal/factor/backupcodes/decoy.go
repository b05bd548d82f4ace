package backupcodes

import (
	"crypto/rand"
	"encoding/json"

	"github.com/sspr/sspr/internal/factor"
)

var _ factor.Decoyer = (*Factor)(nil)

// DecoyEnrollment is a full set of random hashes no code matches: its
// challenge looks like that of a fresh set.
func (f *Factor) DecoyEnrollment(factor.Subject) factor.Enrollment {
	s := set{Version: 1, Params: f.params, Salt: make([]byte, 16), Length: f.cfg.Length}
	_, _ = rand.Read(s.Salt)
	for range f.cfg.Count {
		h := make([]byte, 32)
		_, _ = rand.Read(h)
		s.Hashes = append(s.Hashes, h)
	}
	secret, _ := json.Marshal(s)
	return factor.Enrollment{ID: "decoy", Kind: factor.BackupCodes, Secret: secret}
}
