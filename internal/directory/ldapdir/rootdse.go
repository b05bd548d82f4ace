package ldapdir

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Well-known object identifiers read from the RootDSE.
const (
	OIDActiveDirectoryCapability = "1.2.840.113556.1.4.800"    // LDAP_CAP_ACTIVE_DIRECTORY_OID
	OIDPasswordModify            = "1.3.6.1.4.1.4203.1.11.1"   // RFC 3062 extended operation
	OIDStartTLS                  = "1.3.6.1.4.1.1466.20037"    // RFC 4511 extended operation
	OIDPasswordPolicyControl     = "1.3.6.1.4.1.42.2.27.8.5.1" // draft-behera ppolicy control
	OIDGetEffectiveRights        = "1.3.6.1.4.1.42.2.27.9.5.2" // get effective rights control
	OIDSDFlags                   = "1.2.840.113556.1.4.801"    // LDAP_SERVER_SD_FLAGS_OID
	OIDPaging                    = "1.2.840.113556.1.4.319"    // simple paged results
	OIDMatchingRuleInChain       = "1.2.840.113556.1.4.1941"   // LDAP_MATCHING_RULE_IN_CHAIN
	OIDWhoAmI                    = "1.3.6.1.4.1.4203.1.11.3"   // RFC 4532 extended operation
	OIDPolicyHints               = "1.2.840.113556.1.4.2239"   // LDAP_SERVER_POLICY_HINTS_OID
	OIDPolicyHintsDeprecated     = "1.2.840.113556.1.4.2066"   // LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID
	OIDNetscapePasswordExpired   = "2.16.840.1.113730.3.4.4"   // 389-DS password expired control
	OIDNetscapePasswordExpiring  = "2.16.840.1.113730.3.4.5"   // 389-DS password expiring control
	OIDManageDsaIT               = "2.16.840.1.113730.3.4.2"   // RFC 3296
	OIDAssertion                 = "1.3.6.1.1.12"              // RFC 4528
)

// RootDSE is what a server says about itself, read once per directory.
type RootDSE struct {
	// Vendor is a short product name: "Active Directory", "Samba",
	// "OpenLDAP", "389 Directory Server", or the server's vendorName.
	Vendor string
	// Version is vendorVersion, or for AD the DC functional level.
	Version string
	// ActiveDirectory is true for AD and Samba AD DCs.
	ActiveDirectory bool
	// NamingContexts lists the server's naming contexts.
	NamingContexts []string
	// DefaultNamingContext is AD's domain naming context.
	DefaultNamingContext string
	// DomainFunctionality, ForestFunctionality, DCFunctionality are AD's
	// functional levels (-1 when not AD).
	DomainFunctionality, ForestFunctionality, DCFunctionality int
	// DNSHostName is the server's host name as it states it (AD).
	DNSHostName string
	// GlobalCatalogReady is AD's isGlobalCatalogReady.
	GlobalCatalogReady    bool
	SupportedControls     []string
	SupportedExtensions   []string
	SupportedCapabilities []string
	SupportedFeatures     []string
	SupportedSASL         []string
	ObjectClasses         []string
}

var rootDSEAttributes = []string{
	"vendorName", "vendorVersion", "namingContexts", "defaultNamingContext", "supportedControl",
	"supportedExtension", "supportedCapabilities", "supportedFeatures", "supportedSASLMechanisms",
	"domainFunctionality", "forestFunctionality", "domainControllerFunctionality", "dnsHostName",
	"isGlobalCatalogReady", "objectClass",
}

// ReadRootDSE reads the RootDSE on conn, uncached.
func ReadRootDSE(conn *Conn) (*RootDSE, error) {
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", rootDSEAttributes, nil))
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return &RootDSE{DomainFunctionality: -1, ForestFunctionality: -1, DCFunctionality: -1}, nil
	}
	return parseRootDSE(res.Entries[0]), nil
}

func parseRootDSE(e *ldap.Entry) *RootDSE {
	level := func(attr string) int {
		n, err := strconv.Atoi(e.GetAttributeValue(attr))
		if err != nil {
			return -1
		}
		return n
	}
	uniq := func(vals []string) []string {
		seen := map[string]bool{}
		var out []string
		for _, v := range vals {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
		return out
	}
	r := &RootDSE{
		NamingContexts:        e.GetAttributeValues("namingContexts"),
		DefaultNamingContext:  e.GetAttributeValue("defaultNamingContext"),
		DomainFunctionality:   level("domainFunctionality"),
		ForestFunctionality:   level("forestFunctionality"),
		DCFunctionality:       level("domainControllerFunctionality"),
		DNSHostName:           e.GetAttributeValue("dnsHostName"),
		GlobalCatalogReady:    strings.EqualFold(e.GetAttributeValue("isGlobalCatalogReady"), "TRUE"),
		SupportedControls:     uniq(e.GetAttributeValues("supportedControl")),
		SupportedExtensions:   uniq(e.GetAttributeValues("supportedExtension")),
		SupportedCapabilities: uniq(e.GetAttributeValues("supportedCapabilities")),
		SupportedFeatures:     uniq(e.GetAttributeValues("supportedFeatures")),
		SupportedSASL:         uniq(e.GetAttributeValues("supportedSASLMechanisms")),
		ObjectClasses:         e.GetAttributeValues("objectClass"),
	}
	r.ActiveDirectory = contains(r.SupportedCapabilities, OIDActiveDirectoryCapability)
	vendor, version := e.GetAttributeValue("vendorName"), e.GetAttributeValue("vendorVersion")
	lv := strings.ToLower(vendor)
	switch {
	case strings.Contains(lv, "samba"):
		r.Vendor = "Samba"
	case strings.Contains(lv, "389") || strings.Contains(strings.ToLower(version), "389-directory"):
		r.Vendor = "389 Directory Server"
	case vendor != "":
		r.Vendor = vendor
	case r.ActiveDirectory:
		r.Vendor = "Active Directory"
	case containsFold(r.ObjectClasses, "OpenLDAProotDSE"):
		r.Vendor = "OpenLDAP"
	}
	r.Version = version
	if r.Version == "" && r.ActiveDirectory && r.DCFunctionality >= 0 {
		r.Version = "DC functional level " + FunctionalLevelName(r.DCFunctionality)
	}
	return r
}

// SupportsControl reports whether the server advertises the control.
func (r *RootDSE) SupportsControl(oid string) bool {
	return r != nil && contains(r.SupportedControls, oid)
}

// SupportsExtension reports whether the server advertises the extended
// operation.
func (r *RootDSE) SupportsExtension(oid string) bool {
	return r != nil && contains(r.SupportedExtensions, oid)
}

// FunctionalLevel names AD's domain functional level, "" when not AD.
func (r *RootDSE) FunctionalLevel() string {
	if r == nil || r.DomainFunctionality < 0 {
		return ""
	}
	return FunctionalLevelName(r.DomainFunctionality)
}

// FunctionalLevelName names an AD functional level number.
func FunctionalLevelName(n int) string {
	names := map[int]string{
		0: "Windows 2000", 1: "Windows Server 2003 interim", 2: "Windows Server 2003",
		3: "Windows Server 2008", 4: "Windows Server 2008 R2", 5: "Windows Server 2012",
		6: "Windows Server 2012 R2", 7: "Windows Server 2016", 10: "Windows Server 2025",
	}
	if s, ok := names[n]; ok {
		return s
	}
	return "level " + strconv.Itoa(n)
}

// RootDSE returns the directory's RootDSE, read at first use with the service
// account and cached for the life of the Client (every server of one
// directory is assumed to be the same product). A failed read is retried
// next time.
func (c *Client) RootDSE(ctx context.Context) (*RootDSE, error) {
	c.mu.Lock()
	dse := c.dse
	c.mu.Unlock()
	if dse != nil {
		return dse, nil
	}
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return c.RootDSEOn(ctx, conn)
}

// RootDSEOn is RootDSE on a connection the caller holds.
func (c *Client) RootDSEOn(ctx context.Context, conn *Conn) (*RootDSE, error) {
	c.mu.Lock()
	dse := c.dse
	c.mu.Unlock()
	if dse != nil {
		return dse, nil
	}
	dse, err := ReadRootDSE(conn)
	if err != nil {
		return nil, MapError(ctx, "read RootDSE", err)
	}
	c.mu.Lock()
	c.dse = dse
	c.mu.Unlock()
	return dse, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// Ping proves the directory answers the service account now: a pooled (or
// new) bound connection reads the RootDSE. It is the readiness check
// (/readyz): an error means no server of the directory could be used.
func (c *Client) Ping(ctx context.Context) error {
	conn, err := c.ServiceConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := ReadRootDSE(conn); err != nil {
		return MapError(ctx, "read RootDSE", err)
	}
	return nil
}
