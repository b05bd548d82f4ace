package googletest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/sync/google"
)

// Reply is a scripted answer to the next users.update.
type Reply struct {
	Status     int
	Reason     string // e.g. "rateLimitExceeded", "backendError"
	RetryAfter int
}

// Server is the fake Workspace domain.
type Server struct {
	*httptest.Server
	ServiceAccount, KeyID string
	Key                   *rsa.PrivateKey
	// Admins are the subjects the delegation lets the account act as.
	Admins map[string]bool

	mu      sync.Mutex
	tokens  map[string]bool
	users   map[string]stored
	updates map[string]int
	script  []Reply
}

type stored struct{ hash, fn string }

// New starts a server with a fresh service account key, closed when the
// test ends.
func New(t testing.TB) *Server {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ServiceAccount: "sspr-sync@sspr-test.iam.gserviceaccount.com", KeyID: randHex(20), Key: key,
		Admins: map[string]bool{"admin@example.test": true}, tokens: map[string]bool{}, users: map[string]stored{},
		updates: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("PUT /admin/directory/v1/users/{key}", s.update)
	mux.HandleFunc("PATCH /admin/directory/v1/users/{key}", s.update)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// KeyFile returns the service account's JSON key, as Google hands it out.
func (s *Server) KeyFile() []byte {
	der, _ := x509.MarshalPKCS8PrivateKey(s.Key)
	b, _ := json.Marshal(google.KeyFile{Type: "service_account", ClientEmail: s.ServiceAccount, PrivateKeyID: s.KeyID,
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), TokenURI: s.URL + "/token"})
	return b
}

// AddUser creates a user known by its primary email.
func (s *Server) AddUser(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[strings.ToLower(email)] = stored{}
}

// Script queues answers for the next updates.
func (s *Server) Script(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, r...)
}

// Updates counts the update requests for email.
func (s *Server) Updates(email string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates[strings.ToLower(email)]
}

// HashFunction is the hashFunction of email's stored password.
func (s *Server) HashFunction(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[strings.ToLower(email)].fn
}

// SignIn reports whether password matches what email's account holds,
// as Google checks a sign-in against an imported hash.
func (s *Server) SignIn(email, password string) bool {
	s.mu.Lock()
	u := s.users[strings.ToLower(email)]
	s.mu.Unlock()
	switch u.fn {
	case "SHA-1":
		h := sha1.Sum([]byte(password))
		return u.hash == hex.EncodeToString(h[:])
	case "crypt":
		parts := strings.Split(u.hash, "$")
		return len(parts) == 4 && google.SHA512Crypt(password, parts[2]) == u.hash
	case "":
		return u.hash != "" && u.hash == password
	}
	return false
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+r.PostForm.Get("grant_type"))
		return
	}
	claims, err := s.verify(r.PostForm.Get("assertion"))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		return
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	switch {
	case claims["iss"] != s.ServiceAccount:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid issuer.")
	case claims["aud"] != "http://"+r.Host+"/token":
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	case exp-iat > 3600 || time.Unix(int64(exp), 0).Before(time.Now()):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
	case !strings.Contains(" "+fmt.Sprint(claims["scope"])+" ", " "+google.Scope+" "):
		oauthError(w, http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
	case !s.Admins[fmt.Sprint(claims["sub"])]:
		oauthError(w, http.StatusUnauthorized, "unauthorized_client",
			"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
	default:
		tok := "ya29." + randHex(24)
		s.mu.Lock()
		s.tokens[tok] = true
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

func (s *Server) verify(jwt string) (map[string]any, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	var header map[string]string
	var claims map[string]any
	for i, v := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, v); err != nil {
			return nil, err
		}
	}
	if header["alg"] != "RS256" || header["kid"] != s.KeyID {
		return nil, fmt.Errorf("unknown key")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.Key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	return claims, nil
}

func apiError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg,
		"errors": []map[string]string{{"message": msg, "domain": "global", "reason": reason}}}})
}

var sha1Hex = regexp.MustCompile(`^[0-9a-f]{40}$`)

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	key := strings.ToLower(r.PathValue("key"))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates[key]++
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !s.tokens[tok] {
		apiError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
		return
	}
	if len(s.script) > 0 {
		rep := s.script[0]
		s.script = s.script[1:]
		if rep.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(rep.RetryAfter))
		}
		apiError(w, rep.Status, rep.Reason, "Scripted answer.")
		return
	}
	var body struct {
		Password          *string `json:"password"`
		HashFunction      string  `json:"hashFunction"`
		ChangeAtNextLogin bool    `json:"changePasswordAtNextLogin"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Password == nil {
		apiError(w, http.StatusBadRequest, "invalid", "Invalid Input: password")
		return
	}
	u, ok := s.users[key]
	if !ok {
		apiError(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
		return
	}
	p := *body.Password
	switch body.HashFunction {
	case "SHA-1":
		ok = sha1Hex.MatchString(p)
	case "crypt":
		ok = strings.HasPrefix(p, "$6$") && len(strings.Split(p, "$")) == 4
	case "":
		ok = len(p) >= 8
	default:
		ok = false
	}
	if !ok {
		apiError(w, http.StatusBadRequest, "invalid", "Invalid Password")
		return
	}
	u.hash, u.fn = p, body.HashFunction
	s.users[key] = u
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"kind": "admin#directory#user", "primaryEmail": r.PathValue("key"),
		"changePasswordAtNextLogin": body.ChangeAtNextLogin, "hashFunction": body.HashFunction})
}
