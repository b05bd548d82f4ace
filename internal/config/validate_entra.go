package config

import (
	"fmt"
	"net/url"
	"strings"
)

// DirectoryEntra is a Microsoft Entra ID tenant used as a directory: its
// cloud-only accounts are found and reset through Microsoft Graph
// (docs/entra.md).
type DirectoryEntra struct {
	TenantID string `yaml:"tenant_id"`
	ClientID string `yaml:"client_id"`
	// ClientSecret, or CertificateFile with CertificateKeyFile (PEM, RSA),
	// authenticates sspr's app registration.
	ClientSecret       Secret `yaml:"client_secret"`
	CertificateFile    string `yaml:"certificate_file"`
	CertificateKeyFile string `yaml:"certificate_key_file"`
	// ForceChange makes the person change the new password at the next
	// Microsoft sign-in.
	ForceChange bool `yaml:"force_change"`
	// LoginURL and GraphURL name a national cloud; default the public one.
	LoginURL string `yaml:"login_url"`
	GraphURL string `yaml:"graph_url"`
}

// validateEntra checks a type entra directory. The LDAP keys make no sense
// for it: one given is a mistake worth naming (probably a type typo).
func (d *Directory) validateEntra(p *Problems, path string) {
	e := d.Entra
	key := path + ".entra"
	if e.TenantID == "" {
		p.add(key+".tenant_id", "is required (the tenant's ID or primary domain)")
	}
	if e.ClientID == "" {
		p.add(key+".client_id", "is required (the app registration's application ID)")
	}
	secret := e.ClientSecret.Value != "" || e.ClientSecret.File != ""
	cert := e.CertificateFile != "" || e.CertificateKeyFile != ""
	switch {
	case secret == cert:
		p.add(key+".client_secret", "give a client secret or a certificate (certificate_file and certificate_key_file), not both, not neither")
	case cert && (e.CertificateFile == "" || e.CertificateKeyFile == ""):
		p.add(key+".certificate_file", "certificate_file and certificate_key_file go together")
	}
	checkFile(p, key+".certificate_file", e.CertificateFile)
	checkFile(p, key+".certificate_key_file", e.CertificateKeyFile)
	checkGraphURL(p, key+".login_url", e.LoginURL)
	checkGraphURL(p, key+".graph_url", e.GraphURL)
	for i, dom := range d.Domains {
		if strings.TrimSpace(dom) == "" || strings.ContainsAny(dom, `\@ `) {
			p.addf(fmt.Sprintf("%s.domains[%d]", path, i), "%q is not a domain name such as example.com", dom)
		}
	}
	ldapOnly := map[string]bool{"urls": len(d.URLs) > 0, "bind_dn": d.BindDN != "", "base_dn": d.BaseDN != "",
		"bind_password": d.BindPassword.Value != "" || d.BindPassword.File != "", "password_write": d.PasswordWrite != "",
		"protected_groups": len(d.ProtectedGroups) > 0}
	for _, k := range []string{"urls", "bind_dn", "bind_password", "base_dn", "password_write", "protected_groups"} {
		if ldapOnly[k] {
			p.add(path+"."+k, "applies to LDAP directories only, not to type entra")
		}
	}
	positive(p, path+".timeout", d.Timeout)
}

// checkGraphURL reports a URL that is set and neither https:// nor
// http:// on loopback (a local test tenant): tokens and passwords cross it.
func checkGraphURL(p *Problems, key, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		p.addf(key, "%q is not an https:// URL", v)
	}
}
