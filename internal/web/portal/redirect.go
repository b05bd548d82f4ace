package portal

import (
	"net/http"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/web"
)

// Redirects configure the factors that leave the portal and come back
// (OIDC, SAML) and the one the TLS handshake answers (certificate).
type Redirects struct {
	// OIDCCallback is the path of verification.oidc.redirect_url (GET);
	// SAMLACS the path of verification.saml.acs_url (POST). Empty: not
	// served.
	OIDCCallback string
	SAMLACS      string
	// CertificateHeader is the header a trusted proxy passes the client
	// certificate in (verification.certificate.proxy_header).
	CertificateHeader string
}

// maxReturned bounds what a provider may hand back in one value; a SAML
// response is a few KiB, the request itself is capped at 64 KiB.
const maxReturned = 60 << 10

// registerRedirects adds the routes the identity providers send people
// back to.
//
// Neither route verifies anything itself. The flow cookie is SameSite=Strict,
// so a browser coming back from the provider (a cross-site navigation, or
// for SAML a cross-site POST) does not send it: the route answers with a
// page that hands what the provider returned to /reset/code in a form of
// this origin (sent by the page's script at once, or by the person's click
// without scripts). That request carries the cookie, and the flow checks
// the answer against the challenge of the flow the cookie names: the state
// (OIDC) or RelayState and InResponseTo (SAML) are random per challenge,
// so an answer obtained for somebody else's flow, or pushed into this
// browser by a third party, never matches this flow's challenge and counts
// as a wrong answer.
func (p *Portal) registerRedirects(mux *http.ServeMux) {
	if path := p.opts.Redirects.OIDCCallback; path != "" {
		p.handle(mux, "GET "+path, func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			p.handBack(w, r, map[string]string{"code": q.Get("code"), "state": q.Get("state"), "error": q.Get("error")})
		})
	}
	if path := p.opts.Redirects.SAMLACS; path != "" {
		p.handle(mux, "POST "+path, func(w http.ResponseWriter, r *http.Request) {
			p.handBack(w, r, map[string]string{"SAMLResponse": r.PostFormValue("SAMLResponse"), "RelayState": r.PostFormValue("RelayState")})
		})
	}
}

// handle registers a provider's route. A path that is already one of the
// portal's own (a configuration mistake) is logged, not a crash: the
// portal's page keeps the path, and the factor's answers never arrive.
func (p *Portal) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	defer func() {
		if err := recover(); err != nil {
			p.log.Error("portal: the identity provider's return path is already taken; choose another redirect_url or acs_url", "route", pattern, "err", err)
		}
	}()
	mux.HandleFunc(pattern, h)
}

// returned is one value a provider handed back, as a hidden form field.
type returned struct{ Name, Value string }

// handBack renders the continue page, a form of this origin that posts the
// provider's answer to the flow.
func (p *Portal) handBack(w http.ResponseWriter, r *http.Request, values map[string]string) {
	pg := p.newPage(w, r)
	pg.Step = 1
	for _, name := range []string{"code", "state", "error", "SAMLResponse", "RelayState"} {
		v, ok := values[name]
		if !ok {
			continue
		}
		if len(v) > maxReturned {
			v = ""
		}
		pg.Returned = append(pg.Returned, returned{Name: name, Value: v})
	}
	pg.PageTitle = pg.T("continue.title")
	p.render(w, http.StatusOK, "continue", pg)
}

// redirectRefusal words a wrong answer to the OIDC, SAML and certificate
// steps as what it is (a sign-in or a certificate not accepted), not as a
// wrong code.
func redirectRefusal(pg *page, e *flow.Error, msg *web.Message) {
	if e.Code != flow.CodeCodeInvalid || e.AttemptsLeft <= 0 {
		return
	}
	switch pg.Status.Factor {
	case "oidc", "saml":
		msg.Message = pg.T("flow.signin_invalid", "attempts", e.AttemptsLeft)
	case "certificate":
		msg.Message = pg.T("flow.certificate_invalid", "attempts", e.AttemptsLeft)
	}
}
