package google

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
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

// Scope is the Directory API scope the delegation must grant.
const Scope = "https://www.googleapis.com/auth/admin.directory.user"

// Hash functions the Directory API accepts that sspr sends.
const (
	HashCrypt = "crypt" // SHA-512 crypt, salted (default)
	HashSHA1  = "SHA-1" // hex SHA-1, unsalted
)

// Config configures the target.
type Config struct {
	Name string
	// ServiceAccount is the client_email of the key, Key its private key
	// and KeyID its private_key_id (see ParseKeyFile).
	ServiceAccount string
	Key            crypto.Signer
	KeyID          string
	// Subject is the Workspace admin the service account acts as
	// (domain-wide delegation).
	Subject string
	// HashFunction is HashCrypt (default) or HashSHA1.
	HashFunction string
	// ChangeAtNextLogin sets changePasswordAtNextLogin.
	ChangeAtNextLogin bool
	// TokenURL and BaseURL default to Google's
	// (https://oauth2.googleapis.com/token, https://admin.googleapis.com).
	TokenURL, BaseURL string
	HTTP              *http.Client
	Now               func() time.Time
}

// KeyFile is the part of a service account's JSON key sspr reads.
type KeyFile struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	TokenURI     string `json:"token_uri"`
}

// ParseKeyFile reads a service account JSON key into cfg.
func ParseKeyFile(b []byte, cfg *Config) error {
	var k KeyFile
	if err := json.Unmarshal(b, &k); err != nil {
		return fmt.Errorf("google: the service account key is not JSON: %w", err)
	}
	if k.Type != "service_account" || k.ClientEmail == "" {
		return errors.New("google: the key file is not a service account key")
	}
	blk, _ := pem.Decode([]byte(k.PrivateKey))
	if blk == nil {
		return errors.New("google: the key file holds no PEM private key")
	}
	key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return fmt.Errorf("google: the private key: %w", err)
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return errors.New("google: the private key is not RSA")
	}
	cfg.ServiceAccount, cfg.Key, cfg.KeyID = k.ClientEmail, rk, k.PrivateKeyID
	if cfg.TokenURL == "" {
		cfg.TokenURL = k.TokenURI
	}
	return nil
}

// Target sets passwords in Google Workspace.
type Target struct {
	cfg     Config
	mu      sync.Mutex
	token   string
	expires time.Time
}

// New checks cfg and returns the target.
func New(cfg Config) (*Target, error) {
	if cfg.ServiceAccount == "" || cfg.Key == nil || cfg.Subject == "" {
		return nil, errors.New("google: a service account key and an admin to act as (subject) are required")
	}
	switch cfg.HashFunction {
	case "":
		cfg.HashFunction = HashCrypt
	case HashCrypt, HashSHA1:
	default:
		return nil, fmt.Errorf("google: hash_function %q is not crypt or SHA-1", cfg.HashFunction)
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = "https://oauth2.googleapis.com/token"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://admin.googleapis.com"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
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

func (t *Target) accessToken(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.cfg.Now()
	if t.token != "" && now.Before(t.expires) {
		return t.token, nil
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if t.cfg.KeyID != "" {
		header["kid"] = t.cfg.KeyID
	}
	jwt, err := jose.SignRS256(t.cfg.Key, header, map[string]any{"iss": t.cfg.ServiceAccount, "sub": t.cfg.Subject,
		"scope": Scope, "aud": t.cfg.TokenURL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
	if err != nil {
		return "", target.Permanentf(t.cfg.Name, "signing the token request failed: %v", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwt}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := t.cfg.HTTP.Do(req)
	if err != nil {
		return "", target.Retryf(t.cfg.Name, 0, "Google's token endpoint could not be reached: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		why := fmt.Sprintf("Google refused the service account (HTTP %d %s: %s)", resp.StatusCode, e.Error, e.Description)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return "", target.Retryf(t.cfg.Name, target.ParseRetryAfter(resp.Header.Get("Retry-After"), now), "%s", why)
		}
		return "", target.Permanentf(t.cfg.Name, "%s", why)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", target.Retryf(t.cfg.Name, 0, "Google's token endpoint answered without a token")
	}
	t.token, t.expires = tok.AccessToken, now.Add(time.Duration(tok.ExpiresIn)*time.Second-time.Minute)
	return t.token, nil
}

// hashed returns the password as sent, hashed.
func (t *Target) hashed(password string) string {
	if t.cfg.HashFunction == HashSHA1 {
		s := sha1.Sum([]byte(password))
		return hex.EncodeToString(s[:])
	}
	return SHA512Crypt(password, NewSalt())
}

// SetPassword updates id.Key (primary email, alias or id).
func (t *Target) SetPassword(ctx context.Context, id target.Identity, password string) error {
	fields := map[string]any{"password": t.hashed(password), "hashFunction": t.cfg.HashFunction}
	if t.cfg.ChangeAtNextLogin {
		// Sent only when asked: false would clear a flag an admin set.
		fields["changePasswordAtNextLogin"] = true
	}
	body, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	for try := 0; ; try++ {
		tok, err := t.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPut,
			t.cfg.BaseURL+"/admin/directory/v1/users/"+url.PathEscape(id.Key), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := t.cfg.HTTP.Do(req)
		if err != nil {
			return target.Retryf(t.cfg.Name, 0, "the Directory API could not be reached: %v", err)
		}
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		var ge struct {
			Error struct {
				Message string `json:"message"`
				Errors  []struct {
					Reason string `json:"reason"`
				} `json:"errors"`
			} `json:"error"`
		}
		_ = json.Unmarshal(rb, &ge)
		reason := ""
		if len(ge.Error.Errors) > 0 {
			reason = ge.Error.Errors[0].Reason
		}
		why := fmt.Sprintf("the Directory API answered HTTP %d %s: %s", resp.StatusCode, reason, ge.Error.Message)
		switch {
		case resp.StatusCode == http.StatusUnauthorized && try == 0:
			t.mu.Lock()
			t.token = ""
			t.mu.Unlock()
			continue
		case resp.StatusCode == http.StatusNotFound:
			return target.Permanentf(t.cfg.Name, "no Google Workspace user %q (%s)", id.Key, why)
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 ||
			(resp.StatusCode == http.StatusForbidden && (reason == "rateLimitExceeded" || reason == "userRateLimitExceeded")):
			return target.Retryf(t.cfg.Name, target.ParseRetryAfter(resp.Header.Get("Retry-After"), t.cfg.Now()), "%s", why)
		default:
			return target.Permanentf(t.cfg.Name, "%s", why)
		}
	}
}
