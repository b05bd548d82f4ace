package attributes

import (
	"context"
	"encoding/json"

	"github.com/sspr/sspr/internal/factor"
)

var _ factor.DecoyChallenger = (*Factor)(nil)

// DecoyChallenge asks what a person holding every configured attribute is
// asked. Its state names the attributes, and verifying it against a subject
// without those values never succeeds (factor.ErrNotAvailable, which the
// caller counts as a wrong answer).
func (f *Factor) DecoyChallenge(_ context.Context, _ factor.Subject) (factor.Challenge, error) {
	var (
		qs    []map[string]any
		asked []string
	)
	for _, a := range f.cfg.Attributes {
		if f.cfg.Ask > 0 && len(asked) == f.cfg.Ask {
			break
		}
		q := map[string]any{"id": a.Attribute, "label": a.Label, "format": a.Normaliser}
		if a.Normaliser == Date {
			q["date_order"] = a.DateOrder
		}
		qs = append(qs, q)
		asked = append(asked, a.Attribute)
	}
	expires := f.cfg.Clock().Add(f.cfg.TTL)
	st, err := json.Marshal(state{Version: formatVersion, Asked: asked, Expires: expires})
	if err != nil {
		return factor.Challenge{}, err
	}
	return factor.Challenge{Prompt: map[string]any{"questions": qs}, State: st, Expires: expires}, nil
}
