package certificate

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func FuzzUPNs(f *testing.F) {
	t := &testing.T{}
	f.Add(upnSAN(t, "alice@example.test", "alice@example.test").Value)
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x03, 0xa0, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &x509.Certificate{Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: b}}}
		for _, u := range UPNs(c) {
			_ = u // must not panic; any value is a string from the SAN
		}
	})
}

func FuzzParseProxyHeader(f *testing.F) {
	f.Add("-----BEGIN CERTIFICATE----- MIIB -----END CERTIFICATE-----")
	f.Add("%2D%2D%2D%2D%2DBEGIN")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		certs, err := ParseProxyHeader(s)
		if err == nil && (len(certs) == 0 || len(certs) > 8) {
			t.Fatalf("%d certificates without an error", len(certs))
		}
	})
}
