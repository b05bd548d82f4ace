package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

var factorKinds = []string{"email", "sms", "totp", "passkey", "backup_codes", "attributes", "questions"}

func (c *Config) validateVerification(p *Problems) {
	v := c.Verification
	seen := map[string]bool{}
	for i, f := range v.Factors {
		key := fmt.Sprintf("verification.factors[%d]", i)
		switch {
		case !slices.Contains(factorKinds, f):
			p.addf(key, "%q is not one of %s", f, strings.Join(factorKinds, ", "))
		case seen[f]:
			p.addf(key, "%q is listed twice", f)
		}
		seen[f] = true
	}
	if len(v.Factors) == 0 {
		p.add("verification.factors", "at least one factor is required")
	}
	if v.FirstFactor != "" && !seen[v.FirstFactor] {
		p.addf("verification.first_factor", "%q is not in verification.factors", v.FirstFactor)
	}
	if v.FirstFactor == "questions" {
		p.add("verification.first_factor", "security questions can never be the first factor")
	}
	if seen["questions"] && len(v.Factors) == 1 {
		p.add("verification.factors", "security questions can never be the only factor (NIST SP 800-63B-4)")
	}
	if seen["questions"] && max(v.Required.Reset, v.Required.Unlock) < 2 {
		p.add("verification.required", "with security questions offered, require at least 2 factors: questions can never be the only proof")
	}
	if v.Required.Reset < 1 {
		p.add("verification.required.reset", "must be at least 1")
	}
	if v.Required.Unlock < 1 {
		p.add("verification.required.unlock", "must be at least 1")
	}
	if n := len(v.Factors); v.Required.Reset > n || v.Required.Unlock > n {
		p.addf("verification.required", "asks for more factors than the %d offered", n)
	}
	if seen["sms"] && c.SMS.Provider == "none" {
		p.add("verification.factors", "sms is offered but sms.provider is none")
	}
	if v.TOTP.Digits != 6 && v.TOTP.Digits != 8 {
		p.addf("verification.totp.digits", "%d is not 6 or 8", v.TOTP.Digits)
	}
	positive(p, "verification.totp.period", v.TOTP.Period)
	switch strings.ToUpper(v.TOTP.Algorithm) {
	case "SHA1", "SHA256", "SHA512":
	default:
		p.addf("verification.totp.algorithm", "%q is not one of SHA1, SHA256, SHA512", v.TOTP.Algorithm)
	}
	switch v.Passkey.UserVerification {
	case "required", "preferred", "discouraged":
	default:
		p.addf("verification.passkey.user_verification", "%q is not one of required, preferred, discouraged", v.Passkey.UserVerification)
	}
	if seen["passkey"] {
		c.validatePasskey(p)
	}
	if v.BackupCodes.Count < 1 || v.BackupCodes.Count > 50 {
		p.addf("verification.backup_codes.count", "%d is outside 1..50", v.BackupCodes.Count)
	}
	if seen["attributes"] && len(v.Attributes) == 0 {
		p.add("verification.attributes", "attributes is offered but no attribute question is configured")
	}
	for i, a := range v.Attributes {
		key := fmt.Sprintf("verification.attributes[%d]", i)
		if a.Attribute == "" {
			p.add(key+".attribute", "is required")
		} else if !validAttributeName(a.Attribute) {
			p.addf(key+".attribute", "%q is not an LDAP attribute name", a.Attribute)
		}
		if a.Label == "" {
			p.add(key+".label", "is required: it is the question people read")
		}
		switch a.Normalise {
		case "", "exact", "digits", "date":
		default:
			p.addf(key+".normalise", "%q is not one of exact, digits, date", a.Normalise)
		}
	}
	if seen["questions"] {
		q := v.Questions
		if len(q.Questions) < q.AnswersRequired && !q.AllowCustom {
			p.addf("verification.questions.questions", "%d questions cannot give %d answers", len(q.Questions), q.AnswersRequired)
		}
		if q.Asked < 1 || q.Asked > q.AnswersRequired {
			p.addf("verification.questions.asked", "%d is outside 1..answers_required (%d)", q.Asked, q.AnswersRequired)
		}
	}
}

// validatePasskey checks what browsers will check of the WebAuthn relying
// party, so a configuration that no browser could use fails here and not
// at the first passkey ceremony (the passkey factor refuses it at start-up
// too, but without naming the key).
func (c *Config) validatePasskey(p *Problems) {
	pk := c.Verification.Passkey
	base, err := url.Parse(c.Server.BaseURL)
	if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
		return // server.base_url is reported already
	}
	rpID, rpKey := strings.ToLower(pk.RPID), "verification.passkey.rp_id"
	if rpID == "" {
		rpID, rpKey = strings.ToLower(base.Hostname()), "server.base_url"
	}
	type origin struct{ key, raw string }
	var origins []origin
	for i, o := range pk.Origins {
		origins = append(origins, origin{fmt.Sprintf("verification.passkey.origins[%d]", i), o})
	}
	if len(origins) == 0 {
		origins = []origin{{"server.base_url", base.Scheme + "://" + base.Host}}
	}
	for _, o := range origins {
		u, err := url.Parse(o.raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			p.addf(o.key, "%q is not a passkey origin (scheme://host[:port])", o.raw)
			continue
		}
		host := strings.ToLower(u.Hostname())
		if u.Scheme == "http" && host != "localhost" && !strings.HasSuffix(host, ".localhost") {
			p.addf(o.key, "%s is plain http: browsers allow passkeys over http only on localhost; use https or take passkey out of verification.factors", o.raw)
		}
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			key := rpKey
			if pk.RPID == "" && len(pk.Origins) > 0 {
				key = o.key // the origin is what is out of place
			}
			p.addf(key, "%q is neither the host of %s (%s) nor a parent domain of it, so browsers would refuse every passkey", rpID, o.key, host)
		}
	}
}
