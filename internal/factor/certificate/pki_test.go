package certificate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// testPKI is a root CA, an issuing CA under it and an HTTP server with
// their CRLs and the issuing CA's OCSP responder.
type testPKI struct {
	t         *testing.T
	now       time.Time
	root      *x509.Certificate
	rootKey   crypto.Signer
	issuer    *x509.Certificate
	issuerKey crypto.Signer
	srv       *httptest.Server

	mu        sync.Mutex
	revoked   map[string]bool // serials revoked by the issuing CA
	crlOnly   map[string]bool // revoked in the CRL only (OCSP not yet told)
	ocspDown  bool
	crlDown   bool
	ocspCalls int
	serial    int64
}

func newKey(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPKI(t *testing.T, now time.Time) *testPKI {
	p := &testPKI{t: t, now: now, revoked: map[string]bool{}, crlOnly: map[string]bool{}, serial: 100}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	p.rootKey = newKey(t)
	p.root = p.sign(&x509.Certificate{Subject: pkix.Name{CommonName: "Test Root CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, p.rootKey.Public(), nil, p.rootKey)
	p.issuerKey = newKey(t)
	p.issuer = p.sign(&x509.Certificate{Subject: pkix.Name{CommonName: "Test Smart Card CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, CRLDistributionPoints: []string{p.srv.URL + "/root.crl"}},
		p.issuerKey.Public(), p.root, p.rootKey)
	return p
}

func (p *testPKI) sign(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate, key crypto.Signer) *x509.Certificate {
	p.t.Helper()
	p.mu.Lock()
	p.serial++
	tmpl.SerialNumber = big.NewInt(p.serial)
	p.mu.Unlock()
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = p.now.Add(-time.Hour), p.now.Add(365*24*time.Hour)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		p.t.Fatal(err)
	}
	return c
}

// upnSAN builds a subjectAltName with an otherName UPN and an e-mail.
func upnSAN(t *testing.T, upn, email string) pkix.Extension {
	u, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	other, err := asn1.Marshal(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}{oidUPN, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: u}})
	if err != nil {
		t.Fatal(err)
	}
	// [0] IMPLICIT: replace the SEQUENCE tag by context-specific 0, constructed.
	other[0] = 0xa0
	names := append([]byte(nil), other...)
	if email != "" {
		e := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, Bytes: []byte(email)}
		b, _ := asn1.Marshal(e)
		names = append(names, b...)
	}
	v, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: names})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: v}
}

// card issues a smart card certificate for upn.
func (p *testPKI) card(upn string, mod func(*x509.Certificate)) *x509.Certificate {
	tmpl := &x509.Certificate{Subject: pkix.Name{CommonName: upn}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{upnSAN(p.t, upn, upn)},
		OCSPServer:      []string{p.srv.URL + "/ocsp"}, CRLDistributionPoints: []string{p.srv.URL + "/issuing.crl"}}
	if mod != nil {
		mod(tmpl)
	}
	return p.sign(tmpl, newKey(p.t).Public(), p.issuer, p.issuerKey)
}

func (p *testPKI) revoke(c *x509.Certificate, crlOnly bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if crlOnly {
		p.crlOnly[c.SerialNumber.String()] = true
	} else {
		p.revoked[c.SerialNumber.String()] = true
	}
}

func (p *testPKI) setDown(ocspDown, crlDown bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ocspDown, p.crlDown = ocspDown, crlDown
}

func (p *testPKI) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.URL.Path {
	case "/root.crl", "/issuing.crl":
		if p.crlDown {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		issuer, key, serials := p.root, p.rootKey, map[string]bool{}
		if r.URL.Path == "/issuing.crl" {
			issuer, key = p.issuer, p.issuerKey
			for s := range p.revoked {
				serials[s] = true
			}
			for s := range p.crlOnly {
				serials[s] = true
			}
		}
		var entries []x509.RevocationListEntry
		for s := range serials {
			n, _ := new(big.Int).SetString(s, 10)
			entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: p.now.Add(-time.Minute)})
		}
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(p.now.Unix()),
			ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour), RevokedCertificateEntries: entries}, issuer, key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		_, _ = w.Write(der)
	case "/ocsp":
		p.ocspCalls++
		if p.ocspDown {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		status := ocsp.Good
		if p.revoked[req.SerialNumber.String()] {
			status = ocsp.Revoked
		}
		der, err := ocsp.CreateResponse(p.issuer, p.issuer, ocsp.Response{Status: status, SerialNumber: req.SerialNumber,
			ThisUpdate: p.now.Add(-time.Minute), NextUpdate: p.now.Add(time.Hour), RevokedAt: p.now.Add(-time.Minute)}, p.issuerKey)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(der)
	default:
		http.NotFound(w, r)
	}
}

func pemOf(certs ...*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}
