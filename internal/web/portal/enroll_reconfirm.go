package portal

import (
	"context"
	"net/http"

	"github.com/sspr/sspr/internal/flow"
)

// reconfirmer is the enrollment flow's reconfirmation (flow.Enroll), asked
// for by type so the flow interface the API shares stays as it is.
type reconfirmer interface {
	Reconfirm(ctx context.Context, token string) (flow.SessionView, error)
}

// enrollReconfirm records that the person confirmed their factors are
// still theirs (docs/admin.md "Campaigns").
func (p *Portal) enrollReconfirm(w http.ResponseWriter, r *http.Request) {
	pg := p.newEnrollPage(w, r)
	rc, ok := p.enroll.(reconfirmer)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if _, err := rc.Reconfirm(r.Context(), p.sessionToken(r)); err != nil {
		p.enrollFail(w, r, pg, err)
		return
	}
	http.Redirect(w, r, "/enroll/home?done=reconfirmed", http.StatusSeeOther)
}

// Reconfirmable says whether the home page offers "these are all still
// mine": the person has factors of their own (not only the directory's).
func (pg *enrollPage) Reconfirmable() bool {
	for _, r := range pg.Rows {
		if !r.FromDirectory {
			return true
		}
	}
	return false
}
