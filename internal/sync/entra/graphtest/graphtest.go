package graphtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Reply is a scripted Graph answer to the next PATCH.
type Reply struct {
	Status     int
	Code       string // Graph error code, e.g. "TooManyRequests"
	RetryAfter int    // seconds; 0: no header
}

// Server is the fake tenant.
type Server struct {
	*httptest.Server
	TenantID, ClientID, Secret string
	// Certificate, when set, is the registered certificate credential.
	Certificate *x509.Certificate

	mu        sync.Mutex
	tokens    map[string]time.Time
	passwords map[string]string
	force     map[string]bool
	patches   map[string]int
	script    []Reply
	users     []*User
	lookups   int
}

// New starts a server closed at the end of the test, with one secret.
func New(t testing.TB) *Server {
	s := &Server{TenantID: "00000000-aaaa-bbbb-cccc-000000000001", ClientID: "11111111-2222-3333-4444-555555555555",
		Secret: "graph-test-secret~" + randHex(8), tokens: map[string]time.Time{}, passwords: map[string]string{},
		force: map[string]bool{}, patches: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("PATCH /v1.0/users/{id}", s.patch)
	mux.HandleFunc("GET /v1.0/users", s.listUsers)
	mux.HandleFunc("GET /v1.0/users/{id}", s.getUser)
	mux.HandleFunc("GET /v1.0/organization", s.organization)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// AddUser creates a cloud user known by id (an object id or UPN).
func (s *Server) AddUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passwords[strings.ToLower(id)] = ""
}

// Script queues answers for the next Graph calls (lookups and PATCHes),
// before any real work.
func (s *Server) Script(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Password returns the password last set for id and whether it was set.
func (s *Server) Password(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.passwords[strings.ToLower(id)]
	return p, p != ""
}

// ForceChange reports the last forceChangePasswordNextSignIn for id.
func (s *Server) ForceChange(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.force[strings.ToLower(id)]
}

// Patches counts the PATCH requests for id, answered or not.
func (s *Server) Patches(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.patches[strings.ToLower(id)]
}

// RevokeTokens forgets every issued token.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc,
		"error_codes": []int{7000215}, "timestamp": time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id": randHex(16), "correlation_id": randHex(16)})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("tenant") != s.TenantID {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS90002: Tenant '"+r.PathValue("tenant")+"' not found.")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be form-encoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != "client_credentials":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
		return
	case f.Get("client_id") != s.ClientID:
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
		return
	case f.Get("scope") != "https://graph.microsoft.com/.default" && !strings.HasSuffix(f.Get("scope"), "/.default"):
		oauthError(w, http.StatusBadRequest, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
		return
	}
	if a := f.Get("client_assertion"); a != "" {
		if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS50027: Invalid client_assertion_type.")
			return
		}
		if err := s.checkAssertion(a, "http://"+r.Host+r.URL.Path); err != nil {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS700027: Client assertion failed signature validation: "+err.Error())
			return
		}
	} else if f.Get("client_secret") != s.Secret {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	tok := "eyJ0eXAiOiJKV1QifQ." + randHex(24)
	s.mu.Lock()
	s.tokens[tok] = time.Now().Add(time.Hour)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// checkAssertion verifies an RS256 client assertion against the
// registered certificate, as Entra does.
func (s *Server) checkAssertion(jwt, tokenURL string) error {
	if s.Certificate == nil {
		return fmt.Errorf("no certificate is registered")
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a compact JWT")
	}
	var header map[string]string
	var claims map[string]any
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return err
		}
	}
	thumb := sha256.Sum256(s.Certificate.Raw)
	if header["alg"] != "RS256" || header["x5t#S256"] != base64.RawURLEncoding.EncodeToString(thumb[:]) {
		return fmt.Errorf("unknown key or algorithm")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	pub, ok := s.Certificate.PublicKey.(*rsa.PublicKey)
	if !ok || rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return fmt.Errorf("bad signature")
	}
	exp, _ := claims["exp"].(float64)
	switch {
	case claims["aud"] != tokenURL:
		return fmt.Errorf("aud %v is not %s", claims["aud"], tokenURL)
	case claims["iss"] != s.ClientID || claims["sub"] != s.ClientID:
		return fmt.Errorf("iss/sub are not the client id")
	case claims["jti"] == nil || claims["jti"] == "":
		return fmt.Errorf("no jti")
	case time.Unix(int64(exp), 0).Before(time.Now()):
		return fmt.Errorf("expired")
	}
	return nil
}

// graphError writes Graph's documented error body.
func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": randHex(16),
			"client-request-id": randHex(16)}}})
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patches[id]++
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, known := s.tokens[tok]; !ok || !known || time.Now().After(exp) {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or invalid.")
		return
	}
	if len(s.script) > 0 {
		rep := s.script[0]
		s.script = s.script[1:]
		if rep.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(rep.RetryAfter))
		}
		graphError(w, rep.Status, rep.Code, "Scripted answer.")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		graphError(w, http.StatusUnsupportedMediaType, "BadRequest", "Content-Type must be application/json.")
		return
	}
	var body struct {
		PasswordProfile *struct {
			Password    *string `json:"password"`
			ForceChange *bool   `json:"forceChangePasswordNextSignIn"`
		} `json:"passwordProfile"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.PasswordProfile == nil || body.PasswordProfile.Password == nil {
		graphError(w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body: passwordProfile.password is required.")
		return
	}
	if _, known := s.passwords[id]; !known {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound",
			fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", r.PathValue("id")))
		return
	}
	if len(*body.PasswordProfile.Password) < 8 {
		graphError(w, http.StatusBadRequest, "Request_BadRequest",
			"The specified password does not comply with password complexity requirements. Please provide a different password.")
		return
	}
	s.passwords[id] = *body.PasswordProfile.Password
	s.force[id] = body.PasswordProfile.ForceChange != nil && *body.PasswordProfile.ForceChange
	w.WriteHeader(http.StatusNoContent)
}
