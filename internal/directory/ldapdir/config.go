package ldapdir

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/directory"
)

// DefaultTimeout bounds each dial and each operation when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Config describes one LDAP directory and the service account sspr uses in it.
type Config struct {
	// Name is the configured name of the directory, copied into User.Directory.
	Name string
	// URLs are ldap:// or ldaps:// URLs, tried in order (failover).
	URLs []string
	// StartTLS upgrades ldap:// connections with StartTLS.
	StartTLS bool
	// CAFile is a PEM CA bundle to verify the server with; empty means the
	// system roots.
	CAFile string
	// InsecureSkipVerify disables certificate checks. Tests only.
	InsecureSkipVerify bool
	// AllowInsecurePasswordWrites permits password writes over plain LDAP.
	// Tests only.
	AllowInsecurePasswordWrites bool
	// BindDN and BindPassword are the service account's credentials.
	BindDN, BindPassword string
	// BaseDN is where users are searched (subtree).
	BaseDN string
	// UserFilter is an extra filter ANDed into lookups, e.g.
	// (objectClass=user); may be empty.
	UserFilter string
	// LoginAttributes are the attributes a typed login may match, e.g.
	// sAMAccountName, userPrincipalName, mail.
	LoginAttributes []string
	// LoginNameAttribute is the canonical login attribute (sAMAccountName, uid).
	LoginNameAttribute string
	// MailAttribute holds the address codes are mailed to.
	MailAttribute string
	// DisplayNameAttribute holds a human-friendly name.
	DisplayNameAttribute string
	// Timeout bounds each dial and each operation.
	Timeout time.Duration
}

// WithDefaults returns c with every empty field taken from preset, and the
// few settings no preset decides (mail, display name, timeout) defaulted.
// Connectors call it with their product preset.
func (c Config) WithDefaults(preset Config) Config {
	if c.Name == "" {
		c.Name = preset.Name
	}
	if len(c.URLs) == 0 {
		c.URLs = append([]string(nil), preset.URLs...)
	}
	if c.BaseDN == "" {
		c.BaseDN = preset.BaseDN
	}
	if c.UserFilter == "" {
		c.UserFilter = preset.UserFilter
	}
	if len(c.LoginAttributes) == 0 {
		c.LoginAttributes = append([]string(nil), preset.LoginAttributes...)
	}
	if c.LoginNameAttribute == "" {
		c.LoginNameAttribute = preset.LoginNameAttribute
	}
	if c.MailAttribute == "" {
		c.MailAttribute = preset.MailAttribute
	}
	if c.DisplayNameAttribute == "" {
		c.DisplayNameAttribute = preset.DisplayNameAttribute
	}
	if c.Timeout == 0 {
		c.Timeout = preset.Timeout
	}
	if c.MailAttribute == "" {
		c.MailAttribute = "mail"
	}
	if c.DisplayNameAttribute == "" {
		c.DisplayNameAttribute = "displayName"
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.LoginNameAttribute == "" && len(c.LoginAttributes) > 0 {
		c.LoginNameAttribute = c.LoginAttributes[0]
	}
	if len(c.LoginAttributes) == 0 && c.LoginNameAttribute != "" {
		c.LoginAttributes = []string{c.LoginNameAttribute}
	}
	return c
}

// Validate reports every problem with c at once, as a KindMisconfigured
// *directory.Error naming the fields.
func (c Config) Validate() error {
	var problems []string
	if len(c.URLs) == 0 {
		problems = append(problems, "URLs: at least one ldap:// or ldaps:// URL is required")
	}
	for i, raw := range c.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("URLs[%d]: %v", i, err))
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			problems = append(problems, fmt.Sprintf("URLs[%d]: scheme must be ldap or ldaps, not %q", i, u.Scheme))
		case u.Host == "":
			problems = append(problems, fmt.Sprintf("URLs[%d]: no host in %q", i, raw))
		case u.Scheme == "ldaps" && c.StartTLS:
			problems = append(problems, fmt.Sprintf("URLs[%d]: StartTLS cannot be used with ldaps:// (%s)", i, raw))
		}
	}
	if c.BaseDN == "" {
		problems = append(problems, "BaseDN: required")
	} else if _, err := ldap.ParseDN(c.BaseDN); err != nil {
		problems = append(problems, fmt.Sprintf("BaseDN: %v", err))
	}
	if c.BindDN != "" && c.BindPassword == "" {
		problems = append(problems, "BindPassword: required with BindDN")
	}
	if c.UserFilter != "" {
		if _, err := ldap.CompileFilter(c.UserFilter); err != nil {
			problems = append(problems, fmt.Sprintf("UserFilter: %q: %v", c.UserFilter, err))
		}
	}
	if len(c.LoginAttributes) == 0 {
		problems = append(problems, "LoginAttributes: at least one attribute is required")
	}
	for i, a := range c.LoginAttributes {
		if !validAttributeName(a) {
			problems = append(problems, fmt.Sprintf("LoginAttributes[%d]: %q is not an attribute name", i, a))
		}
	}
	for field, a := range map[string]string{
		"LoginNameAttribute":   c.LoginNameAttribute,
		"MailAttribute":        c.MailAttribute,
		"DisplayNameAttribute": c.DisplayNameAttribute,
	} {
		if !validAttributeName(a) {
			problems = append(problems, fmt.Sprintf("%s: %q is not an attribute name", field, a))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &directory.Error{
		Kind:       directory.KindMisconfigured,
		Op:         "config",
		Diagnostic: strings.Join(problems, "; "),
	}
}

// validAttributeName accepts attribute descriptions (names or OIDs, with
// options); it keeps filter syntax out of attribute positions.
func validAttributeName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == ';':
		default:
			return false
		}
	}
	return true
}
