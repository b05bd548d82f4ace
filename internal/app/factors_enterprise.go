package app

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/certificate"
	"github.com/sspr/sspr/internal/factor/duo"
	"github.com/sspr/sspr/internal/factor/managerapproval"
	"github.com/sspr/sspr/internal/factor/oidc"
	"github.com/sspr/sspr/internal/factor/radius"
	"github.com/sspr/sspr/internal/factor/saml"
	"github.com/sspr/sspr/internal/factor/voice"
	"github.com/sspr/sspr/internal/factor/yubikey"
	"github.com/sspr/sspr/internal/secrets"
)

// enterpriseFactor builds the factors of docs/factors.md (the ones
// enterprises already run); ok is false for other kinds.
func enterpriseFactor(cfg *config.Config, k factor.Kind, key []byte, now func() time.Time) (f factor.Factor, ok bool, err error) {
	v := cfg.Verification
	switch k {
	case radius.Kind:
		r := v.Radius
		f, err = radius.New(radius.Config{Servers: r.Servers, Secret: []byte(r.Secret.Value), NASIdentifier: r.NASIdentifier,
			Timeout: r.Timeout, Retries: r.Retries, Enroll: r.Enroll, UsernameAttribute: r.UsernameAttribute, Clock: now})
	case duo.Kind:
		d := v.Duo
		client, cerr := trustingClient(d.CAFile, duo.DefaultTimeout)
		if cerr != nil {
			return nil, true, cerr
		}
		f, err = duo.New(duo.Config{Host: d.APIHost, IntegrationKey: d.IntegrationKey, SecretKey: d.SecretKey.Value, Methods: d.Methods,
			Enroll: d.Enroll, UsernameAttribute: d.UsernameAttribute, PushTimeout: d.PushTimeout, HTTPClient: client, Clock: now})
	case yubikey.Kind:
		y := v.YubiKey
		apiKey, derr := base64.StdEncoding.DecodeString(y.APIKey.Value)
		if derr != nil {
			return nil, true, fmt.Errorf("api_key is not base64: %w", derr)
		}
		client, cerr := trustingClient(y.CAFile, yubikey.DefaultTimeout)
		if cerr != nil {
			return nil, true, cerr
		}
		f, err = yubikey.New(yubikey.Config{Servers: y.Servers, ClientID: y.ClientID, APIKey: apiKey, HTTPClient: client, Clock: now})
	case oidc.Kind:
		o := v.OIDC
		f, err = oidc.New(oidc.Config{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret.Value, RedirectURL: o.RedirectURL,
			Scopes: o.Scopes, Claim: o.Claim, Attribute: o.Attribute, Label: o.Label, Clock: now})
	case saml.Kind:
		sm := v.SAML
		md, rerr := os.ReadFile(sm.IDPMetadataFile)
		if rerr != nil {
			return nil, true, rerr
		}
		f, err = saml.New(saml.Config{EntityID: sm.EntityID, ACSURL: sm.ACSURL, IDPMetadata: md, Attribute: sm.Attribute,
			DirectoryAttribute: sm.DirectoryAttribute, Label: sm.Label, Clock: now})
	case certificate.Kind:
		c := v.Certificate
		roots, rerr := certPool(c.CAFiles)
		if rerr != nil {
			return nil, true, rerr
		}
		var inter *x509.CertPool
		if len(c.IntermediateFiles) > 0 {
			if inter, rerr = certPool(c.IntermediateFiles); rerr != nil {
				return nil, true, rerr
			}
		}
		f, err = certificate.New(certificate.Config{Roots: roots, Intermediates: inter, MapBy: c.MapBy, Attribute: c.Attribute,
			RevocationOptional: c.RevocationOptional, Clock: now})
	case voice.Kind:
		f, err = voice.New(voice.Config{Key: secrets.Derive(key, "factor:voice"), CodeLength: cfg.Reset.CodeLength, TTL: cfg.Reset.CodeTTL,
			DefaultRegion: cfg.SMS.DefaultCountryCode, Now: now})
	case managerapproval.Kind:
		f, err = managerapproval.New(managerapproval.Config{Key: secrets.Derive(key, "factor:manager_approval"),
			LinkBase: strings.TrimRight(cfg.Server.BaseURL, "/") + "/approve", ManagerAttribute: v.ManagerApproval.ManagerAttribute,
			TTL: v.ManagerApproval.TTL, Clock: now})
	default:
		return nil, false, nil
	}
	return f, true, err
}

// trustingClient is an HTTP client for a factor's HTTPS server that also
// trusts the CAs in caFile (none: the system's only, nil client).
func trustingClient(caFile string, timeout time.Duration) (*http.Client, error) {
	if caFile == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: t, Timeout: timeout}, nil
}

// writeTimeout is the server's write timeout: long enough for the longest
// step, a Duo push waiting for its answer.
func writeTimeout(cfg *config.Config) time.Duration {
	const base = 60 * time.Second
	if !slices.Contains(cfg.Verification.Factors, string(duo.Kind)) {
		return base
	}
	push := cfg.Verification.Duo.PushTimeout
	if push == 0 {
		push = duo.DefaultPushTimeout
	}
	// preauth, auth and the last poll, each up to duo.DefaultTimeout, and
	// the step's padding.
	return max(base, push+3*duo.DefaultTimeout+cfg.Reset.StepMinDuration+5*time.Second)
}

// certPool reads PEM certificate files.
func certPool(files []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s holds no PEM certificate", name)
		}
	}
	return pool, nil
}

// withNotFirst adds to notFirst the factors that say they may never come
// first (manager approval).
func withNotFirst(fs map[factor.Kind]factor.Factor, notFirst map[factor.Kind]bool) map[factor.Kind]bool {
	for k, f := range fs {
		if nf, ok := f.(interface{ NotFirst() bool }); ok && nf.NotFirst() {
			notFirst[k] = true
		}
	}
	return notFirst
}
