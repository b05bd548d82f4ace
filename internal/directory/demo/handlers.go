package demo

import (
	"slices"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/jimlambrt/gldap"
)

// vendorName is what the RootDSE calls this server.
const vendorName = "sspr demo directory"

// OIDs advertised in the RootDSE.
const (
	oidPPolicy  = gldap.ControlTypeBeheraPasswordPolicy // 1.3.6.1.4.1.42.2.27.8.5.1
	oidWhoAmI   = string(gldap.ExtendedOperationWhoAmI) // 1.3.6.1.4.1.4203.1.11.3
	oidManageIT = gldap.ControlTypeManageDsaIT          // 2.16.840.1.113730.3.4.2, accepted and ignored
)

func (s *Server) boundDN(connID int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound[connID]
}

func (s *Server) setBound(connID int, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bound[connID] = key
}

// reply sends a general LDAPResult response with an empty matchedDN unless
// given; gldap would otherwise fill both text fields with "Unused".
func reply(w *gldap.ResponseWriter, r *gldap.Request, appCode, code int, diag string) {
	_ = w.Write(r.NewResponse(
		gldap.WithApplicationCode(appCode),
		gldap.WithResponseCode(code),
		gldap.WithDiagnosticMessage(diag),
		gldap.WithMatchedDN(""),
	))
}

func (s *Server) handleBind(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
	m, err := r.GetSimpleBindMessage()
	if err != nil {
		resp.SetResultCode(gldap.ResultProtocolError)
		resp.SetDiagnosticMessage("only simple binds are supported")
		_ = w.Write(resp)
		return
	}
	// A bind, successful or not, first drops the previous authentication
	// (RFC 4513 §4): a failed bind leaves the connection anonymous.
	s.setBound(r.ConnectionID(), "")

	password := string(m.Password)
	if m.UserName == "" {
		if password != "" {
			// RFC 4513 §5.1.2: a password with no name is unauthenticated
			// with a password; refuse like OpenLDAP does.
			resp.SetResultCode(gldap.ResultUnwillingToPerform)
			resp.SetDiagnosticMessage("unauthenticated bind (DN with no password) disallowed")
			_ = w.Write(resp)
			return
		}
		resp.SetResultCode(gldap.ResultSuccess) // anonymous: RootDSE only
		_ = w.Write(resp)
		return
	}
	key, err := normDN(m.UserName)
	if err != nil {
		resp.SetResultCode(gldap.ResultInvalidDNSyntax)
		resp.SetDiagnosticMessage("invalid DN")
		_ = w.Write(resp)
		return
	}
	if password == "" {
		// A name with no password is an "unauthenticated bind" (RFC 4513
		// §5.1.2), which OpenLDAP refuses by default.
		resp.SetResultCode(gldap.ResultUnwillingToPerform)
		resp.SetDiagnosticMessage("unauthenticated bind (DN with no password) disallowed")
		_ = w.Write(resp)
		return
	}
	if err := s.store.authenticate(key, password); err != nil {
		s.log.Info("demo directory: bind refused", "dn", m.UserName)
		_ = w.Write(resp) // invalidCredentials, no diagnostic: says nothing about which part was wrong
		return
	}
	s.setBound(r.ConnectionID(), key)
	resp.SetResultCode(gldap.ResultSuccess)
	_ = w.Write(resp)
}

func (s *Server) handleSearch(w *gldap.ResponseWriter, r *gldap.Request) {
	done := func(code int, diag, matched string) {
		resp := r.NewSearchDoneResponse(gldap.WithResponseCode(code))
		resp.SetDiagnosticMessage(diag)
		resp.SetMatchedDN(matched)
		_ = w.Write(resp)
	}
	m, err := r.GetSearchMessage()
	if err != nil {
		done(gldap.ResultProtocolError, "malformed search request", "")
		return
	}
	filter, err := compileFilter(m.Filter)
	if err != nil {
		done(gldap.ResultProtocolError, "invalid filter: "+err.Error(), "")
		return
	}
	baseKey, err := normDN(m.BaseDN)
	if err != nil {
		done(gldap.ResultInvalidDNSyntax, "invalid DN", "")
		return
	}
	if baseKey == "" {
		if m.Scope != gldap.BaseObject {
			done(gldap.ResultNoSuchObject, "", "")
			return
		}
		if evalFilter(filter, s.rootDSE()) == triTrue {
			s.sendEntry(w, r, s.rootDSE(), m.Attributes, m.TypesOnly)
		}
		done(gldap.ResultSuccess, "", "")
		return
	}
	if s.boundDN(r.ConnectionID()) == "" {
		done(gldap.ResultInsufficientAccessRights, "anonymous users may only read the RootDSE; bind first", "")
		return
	}
	if _, ok := s.store.lookup(baseKey); !ok {
		done(gldap.ResultNoSuchObject, "", s.store.matchedDN(baseKey))
		return
	}
	sent := int64(0)
	for _, e := range s.store.inScope(baseKey, int(m.Scope)) {
		if evalFilter(filter, e) != triTrue {
			continue
		}
		if m.SizeLimit > 0 && sent >= m.SizeLimit {
			done(gldap.ResultSizeLimitExceeded, "", "")
			return
		}
		s.sendEntry(w, r, e, m.Attributes, m.TypesOnly)
		sent++
	}
	done(gldap.ResultSuccess, "", "")
}

// rootDSE builds the RootDSE entry (RFC 4512 §5.1).
func (s *Server) rootDSE() *entry {
	e := &entry{attrs: map[string]*attribute{}, operational: map[string]*attribute{}}
	e.set("objectClass", "top", "OpenLDAProotDSE")
	// RootDSE attributes are operational: they are returned when asked for
	// by name or with "+", like OpenLDAP; "*" gives objectClass only.
	e.setOperational("namingContexts", BaseDN)
	e.setOperational("supportedLDAPVersion", "3")
	e.setOperational("supportedControl", oidPPolicy, oidManageIT)
	if s.rawWrites {
		e.setOperational("supportedExtension", oidWhoAmI)
	}
	e.setOperational("supportedFeatures", "1.3.6.1.4.1.4203.1.5.1") // all operational attributes ("+")
	e.setOperational("vendorName", vendorName)
	e.setOperational("vendorVersion", "1")
	e.setOperational("subschemaSubentry", "cn=Subschema")
	return e
}

// sendEntry writes one SearchResultEntry with the attributes selected by the
// request's attribute list: none = "*"; "*" all user attributes; "+" all
// operational ones; "1.1" none; otherwise by name, case-insensitively.
func (s *Server) sendEntry(w *gldap.ResponseWriter, r *gldap.Request, e *entry, requested []string, typesOnly bool) {
	var all, allOp bool
	named := map[string]bool{}
	if len(requested) == 0 {
		all = true
	}
	for _, a := range requested {
		switch a {
		case "*":
			all = true
		case "+":
			allOp = true
		case "1.1":
		default:
			named[strings.ToLower(a)] = true
		}
	}
	resp := r.NewSearchResponseEntry(e.dn)
	add := func(m map[string]*attribute, every bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !every && !named[k] {
				continue
			}
			vals := m[k].values
			if typesOnly {
				vals = nil
			}
			resp.AddAttribute(m[k].name, slices.Clone(vals))
		}
	}
	// objectClass first, as most servers do; it reads better in ldapsearch.
	add(e.attrs, all)
	add(e.operational, allOp)
	_ = w.Write(resp)
}

func (s *Server) handleModify(w *gldap.ResponseWriter, r *gldap.Request) {
	m, err := r.GetModifyMessage()
	if err != nil {
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultProtocolError, "malformed modify request")
		return
	}
	who := s.boundDN(r.ConnectionID())
	if who == "" {
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultInsufficientAccessRights, "modifications require authentication")
		return
	}
	key, err := normDN(m.DN)
	if err != nil {
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultInvalidDNSyntax, "invalid DN")
		return
	}
	if _, ok := s.store.lookup(key); !ok {
		_ = w.Write(r.NewModifyResponse(gldap.WithResponseCode(gldap.ResultNoSuchObject),
			gldap.WithDiagnosticMessage(""), gldap.WithMatchedDN(s.store.matchedDN(key))))
		return
	}
	self := who == key
	if (who != s.serviceKey && !self) || parentKey(key) != s.peopleKey {
		// Only people's passwords may change, by the service account or by
		// the person themself.
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultInsufficientAccessRights,
			"no write access to "+m.DN)
		return
	}
	wantPolicy := hasControl(m.Controls, oidPPolicy)

	change, code, diag := parsePasswordChange(m.Changes, who == s.serviceKey)
	if code != gldap.ResultSuccess {
		reply(w, r, gldap.ApplicationModifyResponse, code, diag)
		return
	}
	if change.unlockOnly {
		// What OpenLDAP answers when the attribute to delete is absent.
		if locked, err := s.store.unlock(key); err != nil {
			reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultOther, "internal error")
		} else if !locked {
			reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultNoSuchAttribute, "modify/delete: pwdAccountLockedTime: no such attribute")
		} else {
			s.log.Info("demo directory: account unlocked", "dn", m.DN, "by", who)
			reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultSuccess, "")
		}
		return
	}
	if v := s.rules.check(change.newPassword); v != nil {
		s.log.Info("demo directory: password refused by policy", "dn", m.DN, "reason", v.diagnostic)
		s.refusePassword(w, r, v, wantPolicy)
		return
	}
	err = s.store.setPassword(key, change.oldPassword, change.newPassword, change.pwdReset)
	switch err {
	case nil:
		s.log.Info("demo directory: password changed", "dn", m.DN, "by", who)
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultSuccess, "")
	case errOldPasswordMismatch:
		// What OpenLDAP answers when the value to delete is not there.
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultNoSuchAttribute,
			"modify/delete: userPassword: no such value")
	case errNoSuchEntry:
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultNoSuchObject, "")
	default:
		reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultOther, "internal error")
	}
}

// refusePassword answers constraintViolation with slapo-ppolicy's text and,
// if the client asked for it, the ppolicy response control.
func (s *Server) refusePassword(w *gldap.ResponseWriter, r *gldap.Request, v *violation, wantControl bool) {
	if wantControl {
		if write, ok := rawWriter(w); ok {
			m, _ := r.GetModifyMessage()
			msg := encodeResult(m.GetID(), appModifyResponse, gldap.ResultConstraintViolation, "", v.diagnostic,
				nil, []*ber.Packet{ppolicyResponseControl(v.ppolicyError)})
			if err := write(msg); err != nil {
				s.log.Warn("demo directory: write modify response", "err", err)
			}
			return
		}
	}
	reply(w, r, gldap.ApplicationModifyResponse, gldap.ResultConstraintViolation, v.diagnostic)
}

// passwordChange is what a modify request asks of userPassword.
type passwordChange struct {
	newPassword string
	oldPassword *string // set for the delete-old/add-new form
	pwdReset    bool
	// unlockOnly: the request only deletes pwdAccountLockedTime (an unlock
	// by the service account).
	unlockOnly bool
}

// parsePasswordChange accepts the two shapes password tools send:
//
//	replace: userPassword = new                   (reset, or change without proof)
//	delete: userPassword = old; add: userPassword = new   (change proving the old one)
//
// The service account may also set or clear pwdReset (slapo-ppolicy's
// "must change at next login" flag) in the same request. Anything else is
// refused, since the demo has no schema to check other attributes against.
func parsePasswordChange(changes []gldap.Change, isService bool) (passwordChange, int, string) {
	var pc passwordChange
	var haveNew bool
	for _, c := range changes {
		attr := c.Modification.Type
		vals := modificationValues(c.Modification.Vals)
		switch {
		case strings.EqualFold(attr, "userPassword"):
			switch c.Operation {
			case gldap.ReplaceAttribute, gldap.AddAttribute:
				if len(vals) != 1 || haveNew {
					return pc, gldap.ResultConstraintViolation, "userPassword: exactly one new value required"
				}
				pc.newPassword, haveNew = vals[0], true
			case gldap.DeleteAttribute:
				if len(vals) != 1 || pc.oldPassword != nil {
					return pc, gldap.ResultUnwillingToPerform, "userPassword: delete needs exactly the old value"
				}
				old := vals[0]
				pc.oldPassword = &old
			default:
				return pc, gldap.ResultUnwillingToPerform, "userPassword: unsupported modification"
			}
		case strings.EqualFold(attr, "pwdReset") && isService:
			switch {
			case c.Operation == gldap.DeleteAttribute:
				pc.pwdReset = false
			case c.Operation == gldap.ReplaceAttribute && len(vals) == 1 && strings.EqualFold(vals[0], "TRUE"):
				pc.pwdReset = true
			case c.Operation == gldap.ReplaceAttribute && len(vals) <= 1:
				pc.pwdReset = false
			default:
				return pc, gldap.ResultUnwillingToPerform, "pwdReset: unsupported modification"
			}
		case strings.EqualFold(attr, "pwdAccountLockedTime") && isService && c.Operation == gldap.DeleteAttribute:
			pc.unlockOnly = true
		default:
			return pc, gldap.ResultInsufficientAccessRights, "no write access to attribute " + attr
		}
	}
	if pc.unlockOnly && !haveNew && pc.oldPassword == nil && !pc.pwdReset {
		return pc, gldap.ResultSuccess, ""
	}
	pc.unlockOnly = false // with a new password: setPassword unlocks anyway
	if !haveNew {
		return pc, gldap.ResultUnwillingToPerform, "the demo directory only accepts userPassword changes"
	}
	return pc, gldap.ResultSuccess, ""
}

// modificationValues works around gldap v0.1.14 handing over a modify's
// value SET undecoded: Vals holds one string, the SET's contents, i.e. the
// concatenated BER encodings of the values ("\x04\x05hello..."), and "" for
// an empty SET. When the input decodes completely as OCTET STRINGs, those are
// the values; otherwise the strings are taken as they are, so a gldap that
// decodes values itself keeps working.
func modificationValues(raw []string) []string {
	if len(raw) != 1 {
		return raw
	}
	r := strings.NewReader(raw[0])
	var out []string
	for r.Len() > 0 {
		p, err := ber.ReadPacket(r)
		if err != nil || p.ClassType != ber.ClassUniversal || p.TagType != ber.TypePrimitive || p.Tag != ber.TagOctetString {
			return raw
		}
		out = append(out, p.Data.String())
	}
	return out
}

func hasControl(controls []gldap.Control, oid string) bool {
	for _, c := range controls {
		if c != nil && c.GetControlType() == oid {
			return true
		}
	}
	return false
}

// handleWhoAmI answers RFC 4532 "Who am I?" with "dn:<bound DN>" or "" for
// anonymous. gldap cannot carry a responseValue, so this needs rawWriter.
func (s *Server) handleWhoAmI(w *gldap.ResponseWriter, r *gldap.Request) {
	write, ok := rawWriter(w)
	if !ok {
		reply(w, r, gldap.ApplicationExtendedResponse, gldap.ResultUnwillingToPerform, "Who am I? is not available")
		return
	}
	authz := ""
	if key := s.boundDN(r.ConnectionID()); key != "" {
		if e, ok := s.store.lookup(key); ok {
			authz = "dn:" + e.dn
		}
	}
	value := ber.NewString(ber.ClassContext, ber.TypePrimitive, 11, authz, "responseValue")
	id, ok := messageID(r)
	if !ok {
		reply(w, r, gldap.ApplicationExtendedResponse, gldap.ResultUnwillingToPerform, "Who am I? is not available")
		return
	}
	_ = write(encodeResult(id, appExtendedResponse, gldap.ResultSuccess, "", "", []*ber.Packet{value}, nil))
}

// refuse answers any operation the demo does not support.
func (s *Server) refuse(what string) gldap.HandlerFunc {
	return func(w *gldap.ResponseWriter, r *gldap.Request) {
		app := gldap.ApplicationExtendedResponse
		code := gldap.ResultUnwillingToPerform
		diag := "the demo directory does not support this " + what
		switch what {
		case "add":
			app, code, diag = gldap.ApplicationAddResponse, gldap.ResultInsufficientAccessRights, "the demo directory is read-only except for passwords"
		case "delete":
			app, code, diag = gldap.ApplicationDelResponse, gldap.ResultInsufficientAccessRights, "the demo directory is read-only except for passwords"
		}
		reply(w, r, app, code, diag)
	}
}
