package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

func selfSigned(t *testing.T) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "card"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

// TestClientCertificateOnlyFromHandshakeOrTrustedProxy: the certificate
// factor's answer is what this request's TLS handshake presented, or a
// trusted proxy's header; never a typed value or an untrusted header.
func TestClientCertificateOnlyFromHandshakeOrTrustedProxy(t *testing.T) {
	cert := selfSigned(t)
	want := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	ips := ClientIPs{Trusted: ParseTrusted([]string{"10.0.0.0/8"})}
	const header = "X-SSL-Client-Cert"

	mtls := httptest.NewRequest("POST", "/reset/code", nil)
	mtls.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	values := map[string]string{"certificate": "typed"}
	ips.WithClientCertificate(mtls, header, values)
	if values["certificate"] != want {
		t.Fatalf("mutual TLS: %q", values["certificate"])
	}

	typed := httptest.NewRequest("POST", "/reset/code", nil)
	values = map[string]string{"certificate": want}
	ips.WithClientCertificate(typed, header, values)
	if _, ok := values["certificate"]; ok {
		t.Fatal("a typed certificate reached the factor")
	}

	for _, c := range []struct {
		peer, header string
		ok           bool
	}{{"10.1.2.3:443", header, true}, {"192.0.2.1:443", header, false}, {"10.1.2.3:443", "", false}} {
		r := httptest.NewRequest("POST", "/reset/code", nil)
		r.RemoteAddr = c.peer
		r.Header.Set(header, url.QueryEscape(want)) // nginx's $ssl_client_escaped_cert
		if got := ips.ClientCertificate(r, c.header); (got == want) != c.ok || (!c.ok && got != "") {
			t.Errorf("peer %s, header %q: %q", c.peer, c.header, got)
		}
	}
}
