package certificate

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// verdict is what one source says about one certificate.
type verdict int

const (
	unknown verdict = iota
	good
	revoked
)

// checkRevocation asks, for each certificate of chain but the root, its
// OCSP responder and its CRL: revoked by either refuses; otherwise at least
// one must say good, unless revocation checking is optional.
func (f *Factor) checkRevocation(ctx context.Context, chain []*x509.Certificate, now time.Time) error {
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		o, oerr := f.ocspStatus(ctx, cert, issuer, now)
		c, cerr := f.crlStatus(ctx, cert, issuer, now)
		switch {
		case o == revoked || c == revoked:
			return fmt.Errorf("%w: %s (serial %s)", ErrRevoked, cert.Subject, cert.SerialNumber)
		case o == good || c == good, f.cfg.RevocationOptional:
			continue
		}
		return fmt.Errorf("%w: %s: %w", ErrRevocation, cert.Subject, errors.Join(oerr, cerr))
	}
	return nil
}

func (f *Factor) ocspStatus(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) (verdict, error) {
	if len(cert.OCSPServer) == 0 {
		return unknown, errors.New("no OCSP responder named")
	}
	req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{})
	if err != nil {
		return unknown, err
	}
	var errs []error
	for _, server := range cert.OCSPServer {
		if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
			continue
		}
		body, err := f.fetch(ctx, http.MethodPost, server, req, "application/ocsp-request")
		if err != nil {
			errs = append(errs, fmt.Errorf("OCSP %s: %w", server, err))
			continue
		}
		// ParseResponseForCert checks the signature: by the issuer, or by
		// a responder certificate the issuer signed for OCSP signing.
		r, err := ocsp.ParseResponseForCert(body, cert, issuer)
		if err != nil {
			errs = append(errs, fmt.Errorf("OCSP %s: %w", server, err))
			continue
		}
		if r.ThisUpdate.After(now.Add(5*time.Minute)) || (!r.NextUpdate.IsZero() && now.After(r.NextUpdate)) {
			errs = append(errs, fmt.Errorf("OCSP %s: the answer is not current", server))
			continue
		}
		switch r.Status {
		case ocsp.Good:
			return good, nil
		case ocsp.Revoked:
			return revoked, nil
		}
		errs = append(errs, fmt.Errorf("OCSP %s: status unknown", server))
	}
	return unknown, errors.Join(errs...)
}

func (f *Factor) crlStatus(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) (verdict, error) {
	if len(cert.CRLDistributionPoints) == 0 {
		return unknown, errors.New("no CRL distribution point named")
	}
	var errs []error
	for _, u := range cert.CRLDistributionPoints {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			continue
		}
		crl, err := f.crl(ctx, u, issuer, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("CRL %s: %w", u, err))
			continue
		}
		for _, r := range crl.RevokedCertificateEntries {
			if r.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return revoked, nil
			}
		}
		return good, nil
	}
	return unknown, errors.Join(errs...)
}

// crl returns the CRL at u, signed by issuer and current, from the cache
// while it is.
func (f *Factor) crl(ctx context.Context, u string, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, error) {
	f.mu.Lock()
	c := f.crls[u]
	f.mu.Unlock()
	if c != nil && now.Before(c.NextUpdate) && c.CheckSignatureFrom(issuer) == nil {
		return c, nil
	}
	body, err := f.fetch(ctx, http.MethodGet, u, nil, "")
	if err != nil {
		return nil, err
	}
	c, err = x509.ParseRevocationList(body)
	if err != nil {
		return nil, err
	}
	if err := c.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("not signed by %s: %w", issuer.Subject, err)
	}
	if now.Before(c.ThisUpdate.Add(-5*time.Minute)) || (!c.NextUpdate.IsZero() && !now.Before(c.NextUpdate)) {
		return nil, errors.New("the CRL is not current")
	}
	f.mu.Lock()
	if len(f.crls) > 256 {
		clear(f.crls)
	}
	f.crls[u] = c
	f.mu.Unlock()
	return c, nil
}

func (f *Factor) fetch(ctx context.Context, method, u string, body []byte, contentType string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", res.Status)
	}
	return io.ReadAll(io.LimitReader(res.Body, 16<<20))
}
