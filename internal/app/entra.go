package app

import (
	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/directory"
	entradir "github.com/sspr/sspr/internal/directory/entra"
)

// newEntraDirectory builds a type entra directory (validated in config).
func newEntraDirectory(d config.Directory) (directory.Directory, error) {
	e := d.Entra
	c := entradir.Config{Name: d.Name, TenantID: e.TenantID, ClientID: e.ClientID, ClientSecret: e.ClientSecret.Value,
		ForceChange: e.ForceChange, LoginURL: e.LoginURL, GraphURL: e.GraphURL, Domains: d.Domains, Timeout: d.Timeout}
	if e.CertificateFile != "" {
		var err error
		if c.Certificate, c.Key, err = loadCertificate(e.CertificateFile, e.CertificateKeyFile); err != nil {
			return nil, err
		}
	}
	return entradir.New(c)
}
