package ldapdir

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
)

// CertificateProblem names what is wrong with a server certificate, in plain
// words, or returns "" when err is not a certificate problem.
func CertificateProblem(err error) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostname):
		names := append([]string(nil), hostname.Certificate.DNSNames...)
		for _, ip := range hostname.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 {
			return fmt.Sprintf("the server's certificate is not valid for %q: it names no host in its subject alternative names (only the legacy common name %q, which is not accepted)",
				hostname.Host, hostname.Certificate.Subject.CommonName)
		}
		return fmt.Sprintf("the server's certificate is for %s, not for %q: connect with a name the certificate holds, or get a certificate for this name",
			strings.Join(names, ", "), hostname.Host)
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			c := invalid.Cert
			if c != nil && time.Now().Before(c.NotBefore) {
				return fmt.Sprintf("the server's certificate is not valid yet (valid from %s): check the clocks", c.NotBefore.UTC().Format(time.RFC3339))
			}
			if c != nil {
				return fmt.Sprintf("the server's certificate expired on %s: renew it", c.NotAfter.UTC().Format(time.RFC3339))
			}
			return "the server's certificate has expired (or is not valid yet): renew it or check the clocks"
		case x509.NotAuthorizedToSign:
			return "the server's certificate chain contains a certificate that may not sign others"
		case x509.IncompatibleUsage:
			return "the server's certificate is not meant for TLS servers (extended key usage)"
		}
		return "the server's certificate is invalid: " + invalid.Error()
	case errors.As(err, &unknown):
		issuer := ""
		if unknown.Cert != nil {
			issuer = unknown.Cert.Issuer.String()
		}
		return fmt.Sprintf("the server's certificate was issued by an authority sspr does not trust (%s): set the directory's CA file to that authority's certificate", issuer)
	case errors.As(err, &verify):
		return "the server's certificate could not be verified: " + verify.Err.Error()
	}
	return ""
}

// DescribeDialError says in plain words why a server could not be used.
func DescribeDialError(err error) string {
	if p := CertificateProblem(err); p != "" {
		return p
	}
	var rec tls.RecordHeaderError
	if errors.As(err, &rec) {
		return "the server did not answer TLS: is this an ldap:// port used with ldaps:// (or the reverse)?"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: no server listens on that address and port"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable: " + err.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "the host name does not resolve: " + dns.Error()
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "no answer within the timeout: " + err.Error()
	}
	return err.Error()
}
