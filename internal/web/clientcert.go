package web

import (
	"bytes"
	"encoding/pem"
	"net"
	"net/http"

	"github.com/sspr/sspr/internal/factor/certificate"
)

// ClientCertificate returns, as PEM (the client's certificate first), the
// certificate chain this request proved: the one presented in its own TLS
// handshake (mutual TLS), or, when the request came from a trusted proxy
// (server.trusted_proxies) and proxyHeader is set, the one the proxy that
// terminated TLS passed on in that header. Anything else — a header from
// an untrusted peer, a form field — is never believed: the certificate
// factor must only ever see what a handshake proved. "" when there is none.
func (c ClientIPs) ClientCertificate(r *http.Request, proxyHeader string) string {
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		var b bytes.Buffer
		for i, cert := range r.TLS.PeerCertificates {
			if i == 8 {
				break
			}
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		}
		return b.String()
	}
	if proxyHeader == "" {
		return ""
	}
	v := r.Header.Get(proxyHeader)
	if v == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if !c.trusted(host) {
		return ""
	}
	certs, err := certificate.ParseProxyHeader(v)
	if err != nil {
		return ""
	}
	var b bytes.Buffer
	for _, cert := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	}
	return b.String()
}

// WithClientCertificate replaces values["certificate"] with what
// ClientCertificate finds (deleting it when nothing was proved), so a
// client can never type the certificate the factor checks.
func (c ClientIPs) WithClientCertificate(r *http.Request, proxyHeader string, values map[string]string) {
	delete(values, "certificate")
	if pemChain := c.ClientCertificate(r, proxyHeader); pemChain != "" {
		values["certificate"] = pemChain
	}
}
