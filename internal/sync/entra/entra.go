package entra

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/sync/jose"
	"github.com/sspr/sspr/internal/sync/target"
)

// Config configures the target.
type Config struct {
	Name     string
	TenantID string
	ClientID string
	// ClientSecret, or Certificate with its Key (RSA), authenticates sspr.
	ClientSecret string
	Certificate  *x509.Certificate
	Key          crypto.Signer
	// ForceChange sets forceChangePasswordNextSignIn.
	ForceChange bool
	// LoginURL and GraphURL default to the public cloud
	// (https://login.microsoftonline.com, https://graph.microsoft.com).
	LoginURL, GraphURL string
	HTTP               *http.Client
	Now                func() time.Time
}

// Target sets passwords in Entra ID.
type Target struct {
	cfg Config

	mu      sync.Mutex
	token   string
	expires time.Time
}

// New checks cfg and returns the target.
func New(cfg Config) (*Target, error) {
	if cfg.TenantID == "" || cfg.ClientID == "" {
		return nil, errors.New("entra: tenant_id and client_id are required")
	}
	if (cfg.ClientSecret == "") == (cfg.Key == nil) {
		return nil, errors.New("entra: give exactly one of a client secret or a certificate")
	}
	if cfg.Key != nil {
		if cfg.Certificate == nil {
			return nil, errors.New("entra: a certificate key needs its certificate")
		}
		if _, ok := cfg.Key.Public().(*rsa.PublicKey); !ok {
			return nil, errors.New("entra: the certificate key must be RSA (Entra signs assertions with RS256)")
		}
	}
	if cfg.LoginURL == "" {
		cfg.LoginURL = "https://login.microsoftonline.com"
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = "https://graph.microsoft.com"
	}
	cfg.LoginURL, cfg.GraphURL = strings.TrimRight(cfg.LoginURL, "/"), strings.TrimRight(cfg.GraphURL, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 30 * time.Second, CheckRedirect: target.NoRedirects}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Target{cfg: cfg}, nil
}

// Name is the configured name.
func (t *Target) Name() string { return t.cfg.Name }

func (t *Target) tokenURL() string {
	return t.cfg.LoginURL + "/" + url.PathEscape(t.cfg.TenantID) + "/oauth2/v2.0/token"
}

// accessToken returns a cached token or asks for a new one.
func (t *Target) accessToken(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.Now()
	if t.token != "" && now.Before(t.expires) {
		return t.token, nil
	}
	form := url.Values{"client_id": {t.cfg.ClientID}, "scope": {t.cfg.GraphURL + "/.default"},
		"grant_type": {"client_credentials"}}
	if t.cfg.Key != nil {
		a, err := t.assertion(now)
		if err != nil {
			return "", target.Permanentf(t.cfg.Name, "signing the client assertion failed: %v", err)
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", a)
	} else {
		form.Set("client_secret", t.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.cfg.HTTP.Do(req)
	if err != nil {
		return "", target.Retryf(t.cfg.Name, 0, "the Entra token endpoint could not be reached: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		why := fmt.Sprintf("Entra refused sspr's credentials (HTTP %d %s: %s)", resp.StatusCode, e.Error, firstLine(e.Description))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return "", target.Retryf(t.cfg.Name, target.ParseRetryAfter(resp.Header.Get("Retry-After"), now), "%s", why)
		}
		// A wrong secret or an expired certificate is not mended by
		// retrying the same message; admins hear of it.
		return "", target.Permanentf(t.cfg.Name, "%s", why)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", target.Retryf(t.cfg.Name, 0, "the Entra token endpoint answered without a token")
	}
	t.token = tok.AccessToken
	// Renew a minute early so a token never expires in flight.
	t.expires = now.Add(time.Duration(tok.ExpiresIn)*time.Second - time.Minute)
	return t.token, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, "\r")
	return s
}

// assertion is the RFC 7523 client assertion Entra documents for
// certificate credentials: RS256, header x5t#S256 (and x5t), aud the token
// endpoint, iss = sub = the client id.
func (t *Target) assertion(now time.Time) (string, error) {
	s1 := sha1Sum(t.cfg.Certificate.Raw)
	s256 := sha256.Sum256(t.cfg.Certificate.Raw)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(s1), "x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])}
	claims := map[string]any{"aud": t.tokenURL(), "iss": t.cfg.ClientID, "sub": t.cfg.ClientID,
		"jti": hex.EncodeToString(jti), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	return jose.SignRS256(t.cfg.Key, header, claims)
}

// graphError is Graph's documented error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// SetPassword sets id's password: id.Key is the user's id or
// userPrincipalName (Graph accepts both in the path).
func (t *Target) SetPassword(ctx context.Context, id target.Identity, password string) error {
	body, err := json.Marshal(map[string]any{"passwordProfile": map[string]any{
		"password": password, "forceChangePasswordNextSignIn": t.cfg.ForceChange}})
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		tok, err := t.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPatch, t.cfg.GraphURL+"/v1.0/users/"+url.PathEscape(id.Key), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := t.cfg.HTTP.Do(req)
		if err != nil {
			return target.Retryf(t.cfg.Name, 0, "Microsoft Graph could not be reached: %v", err)
		}
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		var ge graphError
		_ = json.Unmarshal(rb, &ge)
		why := fmt.Sprintf("Graph answered HTTP %d %s: %s", resp.StatusCode, ge.Error.Code, firstLine(ge.Error.Message))
		wait := target.ParseRetryAfter(resp.Header.Get("Retry-After"), t.cfg.Now())
		switch {
		case resp.StatusCode == http.StatusUnauthorized && try == 0:
			// The token was revoked or expired early: fetch a new one once.
			t.mu.Lock()
			t.token = ""
			t.mu.Unlock()
			continue
		case resp.StatusCode == http.StatusNotFound:
			return target.Permanentf(t.cfg.Name, "no Entra user %q (%s)", id.Key, why)
		case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
			return target.Retryf(t.cfg.Name, wait, "%s", why)
		default:
			// 400 (the password breaks Entra's policy), 403 (sspr's app
			// lacks the role): the same request fails the same way.
			return target.Permanentf(t.cfg.Name, "%s", why)
		}
	}
}
