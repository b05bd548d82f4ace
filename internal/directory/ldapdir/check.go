package ldapdir

import (
	"context"
	"fmt"
	"net"
	"net/url"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// Finding IDs shared by the connectors' health checks. They are stable:
// faces and catalogues key on them.
const (
	FindingPlainLDAP       = "tls.plain_ldap"
	FindingSkipVerify      = "tls.skip_verify"
	FindingCertificate     = "tls.certificate"
	FindingServer          = "connect.server"
	FindingNoServer        = "connect.none"
	FindingServiceBind     = "bind.service"
	FindingRootDSE         = "server.rootdse"
	FindingGlobalCatalog   = "ad.global_catalog"
	FindingPolicyHints     = "ad.policy_hints"
	FindingPasswordModify  = "ldap.password_modify"
	FindingPPolicy         = "ldap.ppolicy"
	FindingSampleUser      = "rights.sample_user"
	FindingRightsReset     = "rights.reset_password"
	FindingRightsUnlock    = "rights.unlock"
	FindingRightsMustChg   = "rights.must_change"
	FindingRightsUnchecked = "rights.unchecked"
	FindingPolicyReadable  = "policy.readable"
)

// Add appends a finding to r.
func Add(r *directory.Report, sev directory.Severity, id, format string, args ...any) {
	r.Findings = append(r.Findings, directory.Finding{Severity: sev, ID: id, Message: fmt.Sprintf(format, args...)})
}

// CheckBasics runs the checks every LDAP directory shares, without changing
// anything: transport security of every URL (plain LDAP, over which no
// password may go, certificate checks off, AD's global catalog ports when
// isAD), that every
// server answers (certificate problems in plain words), the service
// account's bind, and the RootDSE (copied into r). It returns a fresh
// connection bound as the service account for the connector's own checks,
// or nil when none could be had (the report then says why). The caller
// closes it.
func (c *Client) CheckBasics(ctx context.Context, r *directory.Report, isAD bool) *Conn {
	cfg := c.cfg
	r.Directory = cfg.Name
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if u.Scheme == "ldap" && !cfg.StartTLS {
			if cfg.InsecureBindsAllowed() {
				Add(r, directory.SeverityWarning, FindingPlainLDAP,
					"%s is plain LDAP and AllowInsecureBinds is on: the service account's password, every sign-in and every old and new password cross the network readable (on loopback too); use ldaps:// or StartTLS outside tests", raw)
			} else {
				Add(r, directory.SeverityError, FindingPlainLDAP,
					"%s is plain LDAP without StartTLS: sspr sends no password over it, so the service account cannot sign in there and no one can sign in, reset or change a password through it; use ldaps:// or turn on StartTLS", raw)
			}
		}
		if isAD {
			if _, port, err := net.SplitHostPort(u.Host); err == nil && (port == "3268" || port == "3269") {
				Add(r, directory.SeverityError, FindingGlobalCatalog,
					"%s is the global catalog port: it is read-only and holds a partial copy of each object, so password resets, unlocks and changes fail there; use port 636 (ldaps) or 389 with StartTLS", raw)
			}
		}
	}
	if cfg.InsecureSkipVerify {
		Add(r, directory.SeverityWarning, FindingSkipVerify,
			"certificate checks are turned off (InsecureSkipVerify): anyone between sspr and the directory can read passwords; set a CA file instead")
	}

	reachable := 0
	for _, raw := range cfg.URLs {
		conn, err := c.DialURL(ctx, raw)
		if err != nil {
			id := FindingServer
			if CertificateProblem(err) != "" {
				id = FindingCertificate
			}
			Add(r, directory.SeverityWarning, id, "%s cannot be used: %s", raw, DescribeDialError(err))
			continue
		}
		reachable++
		_ = conn.Close()
	}
	if reachable == 0 {
		// Every server failed: that is an error, not a warning.
		for i := range r.Findings {
			if r.Findings[i].ID == FindingServer || r.Findings[i].ID == FindingCertificate {
				r.Findings[i].Severity = directory.SeverityError
			}
		}
		Add(r, directory.SeverityError, FindingNoServer, "no server of directory %s can be reached", cfg.Name)
		return nil
	}

	conn, err := c.FreshServiceConn(ctx)
	if err != nil {
		Add(r, directory.SeverityError, FindingServiceBind, "%s", describeServiceBind(cfg.BindDN, err))
		return nil
	}
	r.Server = conn.URL
	if cfg.BindDN == "" {
		Add(r, directory.SeverityWarning, FindingServiceBind, "no service account is configured: sspr searches anonymously and cannot write anything")
	} else {
		Add(r, directory.SeverityOK, FindingServiceBind, "the service account %s binds", cfg.BindDN)
	}
	dse, err := ReadRootDSE(conn)
	if err != nil {
		Add(r, directory.SeverityWarning, FindingRootDSE, "the server's RootDSE cannot be read (%v): its capabilities are unknown", err)
		return conn
	}
	c.mu.Lock()
	if c.dse == nil {
		c.dse = dse
	}
	c.mu.Unlock()
	r.Vendor, r.Version = dse.Vendor, dse.Version
	r.FunctionalLevel = dse.FunctionalLevel()
	r.NamingContexts = dse.NamingContexts
	r.SupportedControls = dse.SupportedControls
	r.SupportedExtended = dse.SupportedExtensions
	return conn
}

// describeServiceBind explains a failed service bind in plain words: the
// sentence directory.Explain gives everywhere else, and the account's DN.
func describeServiceBind(bindDN string, err error) string {
	msg := directory.Explain(err)
	if bindDN != "" {
		msg += " (service account " + bindDN + ")"
	}
	return msg
}

// samplePage is how many entries SampleUser asks for: enough to skip the
// service account itself, small whatever the size of the directory.
const samplePage = 5

// SampleUser finds an entry under BaseDN matching UserFilter and extra
// (ANDed; may be empty) that is not the service account itself, reading
// attrs with controls. nil when there is none.
//
// It reads one page of samplePage entries with the paged-results control
// (and the same size limit), then abandons the paged search: Samba ignores a
// plain size limit and would send every user of the directory (18 MB for
// 1,200 users with their security descriptors), and the check's memory must
// not grow with the directory.
func (c *Client) SampleUser(conn *Conn, extra string, attrs []string, controls ...ldap.Control) (*ldap.Entry, error) {
	filter := wrapFilter(c.cfg.UserFilter)
	if extra != "" {
		filter = "(&" + filter + wrapFilter(extra) + ")"
	}
	search := func(paging *ldap.ControlPaging) (*ldap.SearchResult, error) {
		return conn.Search(ldap.NewSearchRequest(c.cfg.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			samplePage, 0, false, filter, attrs, append(append([]ldap.Control(nil), controls...), paging)))
	}
	res, err := search(ldap.NewControlPaging(samplePage))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, err
	}
	if res == nil {
		return nil, nil
	}
	if pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok && len(pc.Cookie) > 0 {
		// A page size of 0 with the cookie ends the paged search on the
		// server (RFC 2696); its answer holds no entries.
		stop := ldap.NewControlPaging(0)
		stop.SetCookie(pc.Cookie)
		_, _ = search(stop)
	}
	for _, e := range res.Entries {
		if !EqualDN(e.DN, c.cfg.BindDN) {
			return e, nil
		}
	}
	return nil, nil
}
