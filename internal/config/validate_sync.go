package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"time"
)

// syncMapDefaults is the usual way to find a person in each kind of
// target.
var syncMapDefaults = map[string]string{"entra": "upn", "google": "mail", "ldap": "login", "hook": "login"}

// validateSync fills the list defaults of the sync section (map, hook
// timeouts) and checks it: every target complete for its type, names
// unique, a directory target naming a configured directory, hooks either a
// command or a URL with a secret.
func (c *Config) validateSync(p *Problems) {
	s := &c.Sync
	for i, a := range s.AlertTo {
		if _, err := mail.ParseAddress(a); err != nil {
			p.addf(fmt.Sprintf("sync.alert_to[%d]", i), "%q is not a mail address", a)
		}
	}
	if len(s.Targets) > 0 && len(s.AlertTo) == 0 {
		p.add("sync.alert_to", "is required with sync targets: somebody must hear when a password cannot reach one")
	}
	names := map[string]bool{}
	for i := range s.Targets {
		t := &s.Targets[i]
		key := fmt.Sprintf("sync.targets[%d]", i)
		switch {
		case t.Name == "":
			p.add(key+".name", "is required")
		case names[t.Name]:
			p.addf(key+".name", "%q is used twice", t.Name)
		}
		names[t.Name] = true
		def, ok := syncMapDefaults[t.Type]
		if !ok {
			p.addf(key+".type", "%q is not one of entra, google, ldap, hook", t.Type)
			continue
		}
		if t.Map == "" {
			t.Map = def
		}
		switch t.Type {
		case "entra":
			validateSyncEntra(p, key+".entra", t.Entra)
		case "google":
			g := t.Google
			if g.Credentials.Value == "" && g.Credentials.File == "" {
				p.add(key+".google.credentials", "is required (credentials_file: the service account's JSON key)")
			}
			if _, err := mail.ParseAddress(g.Subject); err != nil {
				p.add(key+".google.subject", "is required: the address of the Workspace admin the service account acts as")
			}
			if g.HashFunction != "" && g.HashFunction != "crypt" && g.HashFunction != "SHA-1" {
				p.addf(key+".google.hash_function", "%q is not crypt or SHA-1", g.HashFunction)
			}
			checkHTTPS(p, key+".google.api_url", g.APIURL)
		case "ldap":
			found := false
			for _, d := range c.Directories {
				found = found || d.Name == t.Directory
			}
			if !found {
				p.addf(key+".directory", "%q is not the name of a configured directory", t.Directory)
			}
		case "hook":
			// The outbox hides a message being delivered for this long
			// (internal/app); a hook running longer would be run twice.
			lease := 2*c.Mail.SMTP.Timeout + 30*time.Second
			validateSyncHook(p, key+".hook", &t.Hook, lease,
				fmt.Sprintf("must be shorter than the outbox lease (2 × mail.smtp.timeout + 30s = %v), or a slow hook would run twice", lease))
		}
	}
	for i := range s.PreHooks {
		key := fmt.Sprintf("sync.pre_hooks[%d]", i)
		if s.PreHooks[i].Name == "" {
			p.add(key+".name", "is required")
		}
		validateSyncHook(p, key, &s.PreHooks[i], 30*time.Second, "must be under 30s: the person waits for it")
	}
}

func validateSyncEntra(p *Problems, key string, e SyncEntra) {
	if e.TenantID == "" {
		p.add(key+".tenant_id", "is required")
	}
	if e.ClientID == "" {
		p.add(key+".client_id", "is required")
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
	checkHTTPS(p, key+".login_url", e.LoginURL)
	checkHTTPS(p, key+".graph_url", e.GraphURL)
}

// checkHTTPS reports a URL that is set and not https://: these carry
// credentials and passwords.
func checkHTTPS(p *Problems, key, v string) {
	if u, err := url.Parse(v); v != "" && (err != nil || u.Scheme != "https" || u.Host == "") {
		p.addf(key, "%q is not an https:// URL", v)
	}
}

// validateSyncHook checks a hook; its timeout (default 10s, or half of
// limit when that is less) must be under limit, for the reason why.
func validateSyncHook(p *Problems, key string, h *SyncHook, limit time.Duration, why string) {
	if h.Timeout == 0 {
		h.Timeout = min(10*time.Second, limit/2)
	}
	if h.Timeout < 0 || h.Timeout >= limit {
		p.add(key+".timeout", why)
	}
	switch {
	case (len(h.Command) > 0) == (h.URL != ""):
		p.add(key+".command", "give a command or a url, one of them")
	case h.URL != "":
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) || u.Host == "" {
			p.addf(key+".url", "%q must be an https:// URL (http:// only on this machine): the body holds a password", h.URL)
		}
		if h.Secret.Value == "" && h.Secret.File == "" {
			p.add(key+".secret", "is required (secret_file): the receiver checks the signature with it")
		}
	}
}
