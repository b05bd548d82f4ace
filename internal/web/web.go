package web

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/i18n"
	"github.com/sspr/sspr/internal/password"
)

// CSP allows only this origin's own styles, scripts and images; no inline
// code at all, no framing, forms posted only here.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SecurityHeaders sets the headers every response carries. hsts turns on
// Strict-Transport-Security (only meaningful when served over TLS).
func SecurityHeaders(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// CrossOrigin rejects state-changing requests sent by a browser from another
// origin (Sec-Fetch-Site / Origin checks, Go's CrossOriginProtection), which
// is what CSRF tokens would otherwise guard. deny renders the refusal.
// bypass are patterns other sites may post to (the SAML ACS, which only
// hands the IdP's answer on to a same-origin form).
func CrossOrigin(next http.Handler, deny http.Handler, bypass ...string) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(deny)
	for _, pattern := range bypass {
		p.AddInsecureBypassPattern(pattern)
	}
	return p.Handler(next)
}

// ClientIPs resolves the client address of a request.
type ClientIPs struct {
	Trusted []*net.IPNet
}

// ParseTrusted turns CIDR strings (validated by config) into networks.
func ParseTrusted(cidrs []string) []*net.IPNet {
	var out []*net.IPNet
	for _, c := range cidrs {
		if _, n, err := net.ParseCIDR(c); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Of returns the client IP: the peer address, or, when the peer is a trusted
// proxy, the right-most X-Forwarded-For entry that is not itself trusted.
func (c ClientIPs) Of(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !c.trusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if net.ParseIP(hop) == nil {
			break
		}
		if !c.trusted(hop) {
			return hop
		}
		host = hop
	}
	return host
}

func (c ClientIPs) trusted(ip string) bool {
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return false
	}
	for _, n := range c.Trusted {
		if n.Contains(parsed) {
			return true
		}
	}
	return false
}

// LangCookie remembers an explicit language choice (?lang=de).
const LangCookie = "sspr_lang"

// Language picks the language of a request: an explicit ?lang=, then the
// remembered choice, then Accept-Language, then the default.
func Language(r *http.Request, cat *i18n.Catalogue) string {
	if l := r.URL.Query().Get("lang"); l != "" && cat.Has(l) {
		return l
	}
	if c, err := r.Cookie(LangCookie); err == nil && cat.Has(c.Value) {
		return c.Value
	}
	return cat.Match(r.Header.Get("Accept-Language"))
}

// HTTPStatus maps a flow refusal to its HTTP status (not to be confused with
// flow.Status, where a flow stands). Refusals that do not depend
// on whether an account exists are the only ones that differ.
func HTTPStatus(c flow.Code) int {
	switch c {
	case flow.CodeLoginRequired, flow.CodePasswordRequired, flow.CodePasswordMismatch, flow.CodePasswordTooLong, flow.CodeBadEnrollmentInput,
		flow.CodeProofOfWork:
		return http.StatusBadRequest
	case flow.CodeFlowNotFound, flow.CodeSessionNotFound:
		return http.StatusNotFound
	case flow.CodeWrongState, flow.CodeCodeUsed, flow.CodeAnswerForeign:
		return http.StatusConflict
	case flow.CodeCodeInvalid, flow.CodeCodeExpired, flow.CodePasswordRefused, flow.CodeCredentialsWrong, flow.CodeFactorNotAllowed:
		return http.StatusUnprocessableEntity
	case flow.CodeTooManyAttempts, flow.CodeTooManyCodes, flow.CodeRateLimited, flow.CodeTooManyResets:
		return http.StatusTooManyRequests
	case flow.CodeDirectoryDown, flow.CodeFactorUnavailable:
		return http.StatusServiceUnavailable
	case flow.CodeResetNotPermitted, flow.CodeAccountDisabled, flow.CodeProtectedAccount, flow.CodeStepUpRequired,
		flow.CodeActionNotAllowed, flow.CodeNotEnrolled, flow.CodeAccessRefused, flow.CodeApprovalDenied:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// Message is a refusal explained in one language: the headline plus, for a
// refused password, one line per broken rule.
type Message struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// AttemptsLeft is set when a wrong code was given.
	AttemptsLeft int `json:"attempts_left,omitempty"`
	// Reason says why an answer did not count (flow.Error.Reason).
	Reason string `json:"reason,omitempty"`
	// Rules lists the directory's rules the password broke.
	Rules []Rule `json:"rules,omitempty"`
}

// Rule is one broken password rule.
type Rule struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// Explain renders a flow refusal in lang.
func Explain(cat *i18n.Catalogue, lang string, e *flow.Error) Message {
	id := e.Code.MessageID()
	switch {
	case e.Code == flow.CodePasswordRefused && len(e.Checks) > 0:
		id = "flow.password_rules" // sspr's own rules refused it, not the directory
	case e.Code == flow.CodeCodeInvalid && e.AttemptsLeft == 0:
		id = "flow.code_invalid_plain" // no attempt count applies (enrollment)
	}
	if e.Reason != "" && e.Code == flow.CodeCodeInvalid {
		// A plainer headline: the push was denied, not answered, the OTP
		// was used before.
		id = "flow.code_invalid." + e.Reason
	}
	m := Message{Code: string(e.Code), Message: cat.T(lang, id, "attempts", e.AttemptsLeft), AttemptsLeft: e.AttemptsLeft, Reason: e.Reason}
	if e.Detail != "" {
		// The configuration's own words (an access rule's message and the
		// help desk), after the catalogue's headline.
		m.Message += " " + e.Detail
	}
	for _, r := range e.Reasons {
		id := r.MessageID()
		if r.String() == "too_short" && e.MinLength > 0 {
			id += "_min"
		}
		m.Rules = append(m.Rules, Rule{ID: r.String(), Message: cat.T(lang, id, "min", e.MinLength)})
	}
	for _, c := range e.Checks {
		m.Rules = append(m.Rules, Rule{ID: c.ID, Message: FailedCheckText(cat, lang, c)})
	}
	if e.Code == flow.CodePasswordRefused && len(m.Rules) == 0 {
		m.Rules = []Rule{{ID: "unspecified", Message: cat.T(lang, "password.rule.unspecified")}}
	}
	return m
}

// CheckText explains one password rule in lang: the configuration's own
// wording when it gave one (regular-expression rules), else the catalogue's.
func CheckText(cat *i18n.Catalogue, lang string, c password.Check) string {
	if t := c.Text[lang]; t != "" {
		return t
	}
	if t := c.Text["en"]; t != "" && len(c.Text) > 0 {
		return t
	}
	kv := make([]any, 0, 2*len(c.Args))
	for k, v := range c.Args {
		kv = append(kv, k, v)
	}
	return cat.T(lang, c.MessageID, kv...)
}

// FailedCheckText explains a rule a password broke in lang. Rules worded as
// what a good password does not do ("Has not appeared in a known data
// breach") would read as their opposite under "does not meet the rules", so
// they have a second text saying what is wrong ("Has appeared in a known
// data breach"): password.fail.* next to password.check.*. Rules worded as
// what is needed ("At least 12 characters") keep their text.
func FailedCheckText(cat *i18n.Catalogue, lang string, c password.Check) string {
	if id, ok := failID(c); ok && cat.HasMessage(lang, id) && len(c.Text) == 0 {
		kv := make([]any, 0, 2*len(c.Args))
		for k, v := range c.Args {
			kv = append(kv, k, v)
		}
		return cat.T(lang, id, kv...)
	}
	return CheckText(cat, lang, c)
}

func failID(c password.Check) (string, bool) {
	rest, ok := strings.CutPrefix(c.MessageID, "password.check.")
	if !ok {
		return "", false
	}
	return "password.fail." + rest, true
}

// CheckView is one checklist item as faces show it.
type CheckView struct {
	ID       string `json:"id"`
	Message  string `json:"message"`
	Passed   bool   `json:"passed"`
	Optional bool   `json:"optional,omitempty"`
	Hidden   bool   `json:"hidden,omitempty"`
	Parent   string `json:"parent,omitempty"`
	Waived   bool   `json:"waived,omitempty"`
	// Problem: the item failed and Message says what is wrong rather
	// than what is needed (see FailedCheckText).
	Problem bool `json:"problem,omitempty"`
}

// CheckResult is a live password check as faces show it.
type CheckResult struct {
	OK bool `json:"ok"`
	// Score is the strength estimate 0 (very weak) to 4 (strong), with its
	// label.
	Score      int         `json:"score"`
	ScoreLabel string      `json:"score_label"`
	Checks     []CheckView `json:"checks"`
}

// Checks renders checklist items in lang.
func Checks(cat *i18n.Catalogue, lang string, checks []password.Check) []CheckView {
	out := make([]CheckView, 0, len(checks))
	for _, c := range checks {
		out = append(out, CheckView{ID: c.ID, Message: CheckText(cat, lang, c), Passed: c.Passed, Optional: c.Optional,
			Hidden: c.Hidden, Parent: c.Parent, Waived: c.Waived})
	}
	return out
}

// Result renders a password check in lang: a failed rule reads as what is
// wrong (FailedCheckText). A password attackers already know (breached,
// or on the common list) is "Very weak" whatever its shape: a breached
// "Summer2024!" must not look "Fair".
func Result(cat *i18n.Catalogue, lang string, r password.Result) CheckResult {
	checks := Checks(cat, lang, r.Checks)
	score := r.Score
	for i, c := range r.Checks {
		if c.Passed || c.Optional {
			continue
		}
		if c.ID == "breach" || c.ID == "common" {
			score = 0
		}
		if t := FailedCheckText(cat, lang, c); t != checks[i].Message {
			checks[i].Message, checks[i].Problem = t, true
		}
	}
	return CheckResult{OK: r.OK, Score: score, ScoreLabel: cat.T(lang, fmt.Sprintf("password.strength.%d", score)), Checks: checks}
}
