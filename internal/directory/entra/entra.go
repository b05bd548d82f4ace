package entra

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
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
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// Config configures the connector.
type Config struct {
	Name     string
	TenantID string
	ClientID string
	// ClientSecret, or Certificate with its RSA Key, authenticates sspr.
	ClientSecret string
	Certificate  *x509.Certificate
	Key          crypto.Signer
	// ForceChange sets forceChangePasswordNextSignIn on reset.
	ForceChange bool
	// LoginURL and GraphURL default to the public cloud.
	LoginURL, GraphURL string
	// Domains are the UPN suffixes this tenant answers for (routing).
	Domains []string
	// Timeout bounds each operation, waits for Retry-After included.
	Timeout time.Duration
	HTTP    *http.Client
	Now     func() time.Time
}

// Directory is a cloud-only Entra ID tenant.
type Directory struct {
	cfg Config

	mu      sync.Mutex
	token   string
	expires time.Time
}

var (
	_ directory.Directory        = (*Directory)(nil)
	_ directory.StatusReader     = (*Directory)(nil)
	_ directory.PasswordResetter = (*Directory)(nil)
	_ directory.DomainOwner      = (*Directory)(nil)
	_ directory.HealthChecker    = (*Directory)(nil)
)

// New checks cfg and returns the connector; it does not contact Entra.
func New(cfg Config) (*Directory, error) {
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
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Directory{cfg: cfg}, nil
}

// Name is the configured name.
func (d *Directory) Name() string { return d.cfg.Name }

// Domains are the UPN suffixes routed here.
func (d *Directory) Domains() []string { return d.cfg.Domains }

// Close releases nothing: HTTP connections are pooled by the client.
func (d *Directory) Close() error { return nil }

// QuoteOData renders s as an OData string literal: single quotes around,
// each quote inside doubled (OData ABNF SQUOTE-in-string). Nothing else
// needs escaping inside the literal; URL encoding is done afterwards.
func QuoteOData(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// graphUser is the part of Graph's user resource sspr reads.
type graphUser struct {
	ID                    string `json:"id"`
	UserPrincipalName     string `json:"userPrincipalName"`
	Mail                  string `json:"mail"`
	DisplayName           string `json:"displayName"`
	MobilePhone           string `json:"mobilePhone"`
	AccountEnabled        *bool  `json:"accountEnabled"`
	OnPremisesSyncEnabled *bool  `json:"onPremisesSyncEnabled"`
}

const userSelect = "id,userPrincipalName,mail,displayName,mobilePhone,accountEnabled,onPremisesSyncEnabled"

// The status attributes FindUser keeps with the user (User.StatusAttributes).
const (
	attrEnabled = "accountEnabled"
	attrSynced  = "onPremisesSyncEnabled"
)

// FindUser looks login up by userPrincipalName or mail.
func (d *Directory) FindUser(ctx context.Context, login string) (*directory.User, error) {
	login = strings.TrimSpace(login)
	if login == "" || strings.ContainsAny(login, "\x00\r\n") {
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search"}
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	q := QuoteOData(login)
	v := url.Values{"$filter": {"userPrincipalName eq " + q + " or mail eq " + q}, "$select": {userSelect}}
	var out struct {
		Value []graphUser `json:"value"`
	}
	if err := d.call(ctx, "search", http.MethodGet, "/v1.0/users?"+v.Encode(), nil, &out); err != nil {
		return nil, err
	}
	switch len(out.Value) {
	case 0:
		return nil, &directory.Error{Kind: directory.KindNotFound, Op: "search"}
	case 1:
	default:
		return nil, &directory.Error{Kind: directory.KindAmbiguous, Op: "search", Diagnostic: fmt.Sprintf("%d Entra users match", len(out.Value))}
	}
	g := out.Value[0]
	u := &directory.User{Directory: d.cfg.Name, DN: g.ID, Login: g.UserPrincipalName, DisplayName: g.DisplayName,
		Email: g.Mail, Mobile: g.MobilePhone, ReadAt: d.cfg.Now(),
		Attributes:       map[string][]string{"userPrincipalName": {g.UserPrincipalName}, "upn": {g.UserPrincipalName}, "mail": {g.Mail}},
		StatusAttributes: map[string][]string{attrEnabled: {fmtBool(g.AccountEnabled, true)}, attrSynced: {fmtBool(g.OnPremisesSyncEnabled, false)}}}
	return u, nil
}

func fmtBool(b *bool, def bool) string {
	if b == nil {
		return strconv.FormatBool(def)
	}
	return strconv.FormatBool(*b)
}

// status reads the account's state, from the lookup when it is fresh.
func (d *Directory) status(ctx context.Context, u *directory.User) (enabled, synced bool, err error) {
	sa := u.StatusAttributes
	if sa == nil || d.cfg.Now().Sub(u.ReadAt) > 5*time.Second {
		ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
		defer cancel()
		var g graphUser
		if err := d.call(ctx, "read", http.MethodGet, "/v1.0/users/"+url.PathEscape(u.DN)+"?$select="+userSelect, nil, &g); err != nil {
			return false, false, err
		}
		sa = map[string][]string{attrEnabled: {fmtBool(g.AccountEnabled, true)}, attrSynced: {fmtBool(g.OnPremisesSyncEnabled, false)}}
	}
	return first(sa[attrEnabled]) != "false", first(sa[attrSynced]) == "true", nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// AccountStatus reports Disabled for accountEnabled false. Entra keeps
// lockouts (smart lockout) to itself: Graph does not show them.
func (d *Directory) AccountStatus(ctx context.Context, u *directory.User) (*directory.AccountStatus, error) {
	enabled, _, err := d.status(ctx, u)
	if err != nil {
		return nil, err
	}
	return &directory.AccountStatus{Disabled: !enabled}, nil
}

// errSynced is the refusal for accounts mastered in Active Directory.
func errSynced(u *directory.User) error {
	return &directory.Error{Kind: directory.KindUnsupported, Op: "reset",
		Diagnostic: "the Entra account " + u.Login + " is synchronised from on-premises Active Directory: its password lives in AD " +
			"and must be reset there (through an ad directory entry), not in Entra"}
}

// ResetPassword sets a new password through passwordProfile. Accounts
// synchronised from AD are refused (KindUnsupported).
func (d *Directory) ResetPassword(ctx context.Context, u *directory.User, newPassword string) error {
	_, synced, err := d.status(ctx, u)
	if err != nil {
		return err
	}
	if synced {
		return errSynced(u)
	}
	body, err := json.Marshal(map[string]any{"passwordProfile": map[string]any{
		"password": newPassword, "forceChangePasswordNextSignIn": d.cfg.ForceChange}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	err = d.call(ctx, "reset", http.MethodPatch, "/v1.0/users/"+url.PathEscape(u.DN), body, nil)
	u.StatusAttributes = nil
	return err
}

// VerifyPassword is impossible with client credentials: Graph offers no
// way to check a person's password for an app, and signing in as the
// person (ROPC) is deprecated and fails for MFA accounts.
func (d *Directory) VerifyPassword(context.Context, *directory.User, string) error {
	return &directory.Error{Kind: directory.KindUnsupported, Op: "bind",
		Diagnostic: "Entra ID passwords cannot be checked by sspr (client credentials cannot sign in as a person)"}
}

// Check sees that a token is issued and that the app may read users.
func (d *Directory) Check(ctx context.Context) *directory.Report {
	r := &directory.Report{Directory: d.cfg.Name, Server: d.cfg.GraphURL, Vendor: "Microsoft Entra ID"}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	if _, err := d.accessToken(ctx); err != nil {
		r.Findings = append(r.Findings, directory.Finding{Severity: directory.SeverityError, ID: "entra.token",
			Message: "sspr could not get a token from Entra: check tenant_id, client_id and the client secret or certificate of the app registration (" + err.Error() + ")"})
		return r
	}
	r.Findings = append(r.Findings, directory.Finding{Severity: directory.SeverityOK, ID: "entra.token", Message: "Entra issued sspr a token."})
	var out struct {
		Value []graphUser `json:"value"`
	}
	err := d.call(ctx, "search", http.MethodGet, "/v1.0/users?$top=1&$select=id", nil, &out)
	switch directory.KindOf(err) {
	case directory.KindUnknown:
		if err != nil {
			r.Findings = append(r.Findings, directory.Finding{Severity: directory.SeverityError, ID: "entra.read_users", Message: err.Error()})
			break
		}
		r.Findings = append(r.Findings, directory.Finding{Severity: directory.SeverityOK, ID: "entra.read_users", Message: "The app can read users."})
	case directory.KindAccessDenied:
		r.Findings = append(r.Findings, directory.Finding{Severity: directory.SeverityError, ID: "entra.read_users",
			Message: "The app may not read users: grant it the Microsoft Graph application permission User.ReadWrite.All " +
				"(with admin consent) and the User Administrator or Authentication Administrator role, which resetting passwords needs."})
	default:
		r.Findings = append(r.Findings, directory.Finding{Severity: directory.SeverityError, ID: "entra.read_users",
			Message: "Microsoft Graph did not answer a user lookup: " + err.Error()})
	}
	return r
}

// graphErrorBody is Graph's documented error body.
type graphErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends one Graph request, fetching a token first, retrying once on a
// 401 (the token was revoked) and after a Retry-After that still fits in
// ctx's deadline.
func (d *Directory) call(ctx context.Context, op, method, path string, body []byte, out any) error {
	renewed := false
	for {
		tok, err := d.accessToken(ctx)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, method, d.cfg.GraphURL+path, bytes.NewReader(body))
		if err != nil {
			return &directory.Error{Kind: directory.KindMisconfigured, Op: op, Err: err}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := d.cfg.HTTP.Do(req)
		if err != nil {
			return &directory.Error{Kind: directory.KindUnavailable, Op: op, Diagnostic: "Microsoft Graph could not be reached", Err: err}
		}
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			if out != nil && len(rb) > 0 {
				if err := json.Unmarshal(rb, out); err != nil {
					return &directory.Error{Kind: directory.KindUnavailable, Op: op, Diagnostic: "Graph answered something that is not JSON", Err: err}
				}
			}
			return nil
		}
		var ge graphErrorBody
		_ = json.Unmarshal(rb, &ge)
		diag := fmt.Sprintf("Graph answered HTTP %d %s: %s", resp.StatusCode, ge.Error.Code, firstLine(ge.Error.Message))
		switch {
		case resp.StatusCode == http.StatusUnauthorized && !renewed:
			renewed = true
			d.mu.Lock()
			d.token = ""
			d.mu.Unlock()
			continue
		case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
			return &directory.Error{Kind: directory.KindAccessDenied, Op: op, Diagnostic: diag}
		case resp.StatusCode == http.StatusNotFound:
			return &directory.Error{Kind: directory.KindNotFound, Op: op, Diagnostic: diag}
		case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode >= 500:
			if wait, ok := retryAfter(resp.Header.Get("Retry-After"), d.cfg.Now()); ok && fits(ctx, wait) {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
				case <-t.C:
					continue
				}
			}
			return &directory.Error{Kind: directory.KindUnavailable, Op: op, Diagnostic: diag}
		case resp.StatusCode == http.StatusBadRequest && isComplexity(ge.Error.Message):
			return &directory.Error{Kind: directory.KindPolicyViolation, Op: op, Reasons: []directory.Reason{directory.ReasonComplexity}, Diagnostic: diag}
		default:
			return &directory.Error{Kind: directory.KindUnknown, Op: op, Diagnostic: diag}
		}
	}
}

// isComplexity recognises Graph's refusal of a password by its policy
// ("does not comply with password complexity requirements").
func isComplexity(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "password") && (strings.Contains(m, "complexity") || strings.Contains(m, "password policy"))
}

// retryAfter parses a Retry-After of seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// fits reports whether waiting wait still leaves ctx time to ask again.
func fits(ctx context.Context, wait time.Duration) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) > wait+500*time.Millisecond
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s, _, _ = strings.Cut(s, "\r")
	return s
}

func (d *Directory) tokenURL() string {
	return d.cfg.LoginURL + "/" + url.PathEscape(d.cfg.TenantID) + "/oauth2/v2.0/token"
}

// accessToken returns a cached token or asks for a new one.
func (d *Directory) accessToken(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.cfg.Now()
	if d.token != "" && now.Before(d.expires) {
		return d.token, nil
	}
	form := url.Values{"client_id": {d.cfg.ClientID}, "scope": {d.cfg.GraphURL + "/.default"}, "grant_type": {"client_credentials"}}
	if d.cfg.Key != nil {
		a, err := d.assertion(now)
		if err != nil {
			return "", &directory.Error{Kind: directory.KindMisconfigured, Op: "token", Diagnostic: "signing the client assertion failed", Err: err}
		}
		form.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
		form.Set("client_assertion", a)
	} else {
		form.Set("client_secret", d.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.tokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		return "", &directory.Error{Kind: directory.KindMisconfigured, Op: "token", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.cfg.HTTP.Do(req)
	if err != nil {
		return "", &directory.Error{Kind: directory.KindUnavailable, Op: "token", Diagnostic: "the Entra token endpoint could not be reached", Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		diag := fmt.Sprintf("Entra refused sspr's credentials (HTTP %d %s: %s)", resp.StatusCode, e.Error, firstLine(e.Description))
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			return "", &directory.Error{Kind: directory.KindUnavailable, Op: "token", Diagnostic: diag}
		}
		return "", &directory.Error{Kind: directory.KindAccessDenied, Op: "token", Diagnostic: diag}
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", &directory.Error{Kind: directory.KindUnavailable, Op: "token", Diagnostic: "the Entra token endpoint answered without a token"}
	}
	d.token = tok.AccessToken
	// Renew a minute early so a token never expires in flight.
	d.expires = now.Add(time.Duration(tok.ExpiresIn)*time.Second - time.Minute)
	return d.token, nil
}

// assertion is the RFC 7523 client assertion Entra documents for
// certificate credentials: RS256, x5t#S256 (and x5t), aud the token
// endpoint, iss = sub = the client id.
func (d *Directory) assertion(now time.Time) (string, error) {
	s1 := sha1.Sum(d.cfg.Certificate.Raw) // a thumbprint Entra documents, not a signature
	s256 := sha256.Sum256(d.cfg.Certificate.Raw)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT",
		"x5t": base64.RawURLEncoding.EncodeToString(s1[:]), "x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])})
	claims, _ := json.Marshal(map[string]any{"aud": d.tokenURL(), "iss": d.cfg.ClientID, "sub": d.cfg.ClientID,
		"jti": hex.EncodeToString(jti), "nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := d.cfg.Key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", err
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// VerifiesPasswords is false: the flows that need a password check (the
// enrollment sign-in) refuse plainly for this directory.
func (d *Directory) VerifiesPasswords() bool { return false }
