package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// validateDirectories checks every directory entry. This is the one place a
// directory's settings are checked with their YAML keys, LDAP syntax
// included (filters and DNs with go-ldap's own parsers, the parsers the
// connectors use): app turns a valid entry into the connector's
// configuration without checks of its own that could disagree.
func (c *Config) validateDirectories(p *Problems) {
	if len(c.Directories) == 0 {
		p.add("directories", "at least one directory is required")
	}
	names := map[string]bool{}
	for i := range c.Directories {
		c.Directories[i].validate(p, fmt.Sprintf("directories[%d]", i), names)
	}
}

func (d *Directory) validate(p *Problems, path string, names map[string]bool) {
	if d.Name == "" {
		p.add(path+".name", "is required")
	} else if names[d.Name] {
		p.addf(path+".name", "%q is used by another directory", d.Name)
	}
	names[d.Name] = true
	switch d.Type {
	case "ad", "openldap", "389ds", "freeipa":
	case "entra":
		d.validateEntra(p, path)
		return
	case "connector":
		d.validateConnector(p, path)
		return
	case "":
		p.add(path+".type", "is required: ad, openldap, 389ds, freeipa, entra or connector")
	default:
		p.addf(path+".type", "%q is not one of ad, openldap, 389ds, freeipa, entra, connector", d.Type)
	}
	if d.PoolSize < 0 || d.PoolSize > 64 {
		p.addf(path+".pool_size", "%d is outside 0..64", d.PoolSize)
	}
	if d.WriteConcurrency < -1 || d.WriteConcurrency > 64 {
		p.addf(path+".write_concurrency", "%d is outside -1..64 (-1: no limit)", d.WriteConcurrency)
	}
	d.validateURLs(p, path)
	if d.BindDN == "" {
		p.add(path+".bind_dn", "is required (the service account)")
	} else if d.Type != "ad" {
		// AD also binds as user@domain or DOMAIN\user; the others only by DN.
		checkDN(p, path+".bind_dn", d.BindDN)
	}
	if d.BindPassword.Value == "" && d.BindPassword.File == "" {
		p.add(path+".bind_password", "is required (or bind_password_file)")
	}
	if d.BaseDN == "" {
		p.add(path+".base_dn", "is required")
	} else {
		checkDN(p, path+".base_dn", d.BaseDN)
	}
	checkDN(p, path+".group_base_dn", d.GroupBaseDN)
	checkDN(p, path+".password_policy_dn", d.PasswordPolicyDN)
	for i, g := range d.ProtectedGroups {
		key := fmt.Sprintf("%s.protected_groups[%d]", path, i)
		if g == "" {
			p.add(key, "is empty; give the group's DN")
			continue
		}
		checkDN(p, key, g)
	}
	checkFilter(p, path+".user_filter", d.UserFilter)
	checkFilter(p, path+".disabled_filter", d.DisabledFilter)
	if len(d.LoginAttributes) == 0 {
		p.add(path+".login_attributes", "at least one attribute is required")
	}
	for i, a := range d.LoginAttributes {
		checkAttribute(p, fmt.Sprintf("%s.login_attributes[%d]", path, i), a, true)
	}
	checkAttribute(p, path+".login_name_attribute", d.LoginNameAttribute, true)
	checkAttribute(p, path+".mail_attribute", d.MailAttribute, true)
	checkAttribute(p, path+".display_name_attribute", d.DisplayNameAttribute, true)
	checkAttribute(p, path+".mobile_attribute", d.MobileAttribute, false)
	checkAttribute(p, path+".manager_attribute", d.ManagerAttribute, false)
	for i, dom := range d.Domains {
		if strings.TrimSpace(dom) == "" || strings.ContainsAny(dom, `\@ `) {
			p.addf(fmt.Sprintf("%s.domains[%d]", path, i), "%q is not a domain name such as EXAMPLE or example.com", dom)
		}
	}
	checkFile(p, path+".ca_file", d.CAFile)
	if (d.Type == "openldap" || d.Type == "389ds" || d.Type == "freeipa") && d.PasswordWrite != "exop" && d.PasswordWrite != "modify" {
		p.addf(path+".password_write", "%q is not one of exop, modify", d.PasswordWrite)
	}
	if d.Type == "ad" && d.PasswordWrite != "" {
		p.add(path+".password_write", "applies to openldap only")
	}
	positive(p, path+".timeout", d.Timeout)
}

func (d *Directory) validateURLs(p *Problems, path string) {
	if len(d.URLs) == 0 {
		p.add(path+".urls", "at least one ldap:// or ldaps:// URL is required")
	}
	for i, raw := range d.URLs {
		key := fmt.Sprintf("%s.urls[%d]", path, i)
		u, err := url.Parse(raw)
		if err != nil || (!strings.EqualFold(u.Scheme, "ldap") && !strings.EqualFold(u.Scheme, "ldaps")) || u.Host == "" {
			p.addf(key, "%q is not an ldap:// or ldaps:// URL", raw)
			continue
		}
		plain := strings.EqualFold(u.Scheme, "ldap")
		if !plain && d.StartTLS {
			p.add(key, "ldaps:// is already encrypted; start_tls applies to ldap:// only")
		}
		// Loopback is no excuse: anything on the host can read it.
		if plain && !d.StartTLS && !d.AllowInsecureBinds {
			p.add(key, "plain LDAP without start_tls would send the service account's password (and people's) in clear: "+
				"use ldaps://, or start_tls: true; allow_insecure_binds: true is for tests only")
		}
		if port := u.Port(); d.Type == "ad" && (port == "3268" || port == "3269") {
			p.add(key, "is the global catalog port, which cannot write passwords; use 636 (ldaps) or 389 with start_tls")
		}
	}
}

// checkDN reports a DN that go-ldap cannot parse (empty is fine: the key
// is optional, or reported as required by the caller).
func checkDN(p *Problems, key, dn string) {
	if dn == "" {
		return
	}
	if _, err := ldap.ParseDN(dn); err != nil {
		p.addf(key, "%q is not a DN: %v", dn, err)
	}
}

// checkFilter reports an LDAP filter that go-ldap cannot compile, such as
// one with unbalanced parentheses.
func checkFilter(p *Problems, key, filter string) {
	if filter == "" {
		return
	}
	if _, err := ldap.CompileFilter(filter); err != nil {
		p.addf(key, "%q is not an LDAP filter: %v", filter, strings.TrimPrefix(err.Error(), "LDAP Result Code 201 \"Filter Compile Error\": "))
	}
}

// attributeName is an attribute description (RFC 4512): a name or an OID,
// with options such as ;binary. It keeps filter syntax and typos such as
// "mail " or "sAMAccountName)" out of attribute positions, where they would
// otherwise reach the directory inside a filter.
var attributeName = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+)(;[A-Za-z0-9-]+)*$`)

func validAttributeName(s string) bool { return attributeName.MatchString(s) }

func checkAttribute(p *Problems, key, name string, required bool) {
	switch {
	case name == "" && required:
		p.add(key, "is required")
	case name != "" && !validAttributeName(name):
		p.addf(key, "%q is not an LDAP attribute name", name)
	}
}
