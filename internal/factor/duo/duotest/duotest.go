package duotest

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sspr/sspr/internal/factor/duo"
)

// Push outcomes a user's phone gives.
const (
	Approve = "approve"
	Deny    = "deny"
	// Timeout: Duo's own timeout (result deny, status timeout).
	Timeout = "timeout"
	// Never: the push stays waiting forever (the client's timeout).
	Never = "never"
)

// User is a Duo user of the server.
type User struct {
	// Push is what the user's phone answers.
	Push string
	// Passcodes are accepted once each.
	Passcodes map[string]bool
	// Bypass makes preauth answer "allow".
	Bypass bool
}

// Server speaks the Auth API v2 (preauth, auth, auth_status) over HTTPS on
// loopback and checks each request's v2 signature and date.
type Server struct {
	*httptest.Server
	IntegrationKey string
	SecretKey      string

	mu     sync.Mutex
	users  map[string]*User
	txs    map[string]*tx
	pushes int
	calls  int
}

type tx struct {
	user  string
	polls int
}

// NewServer starts a server with random keys. Close it when done.
func NewServer() *Server {
	s := &Server{IntegrationKey: "DI" + randomHex(9), SecretKey: randomHex(20), users: map[string]*User{}, txs: map[string]*tx{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}

// Host is the host:port the client must use (and sign).
func (s *Server) Host() string { u, _ := url.Parse(s.Server.URL); return u.Host }

// SetUser adds or replaces a user.
func (s *Server) SetUser(name string, u *User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = u
}

// Pushes is how many pushes were sent; Calls how many requests passed the
// signature check.
func (s *Server) Pushes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.pushes }

// Calls is how many requests passed the signature check.
func (s *Server) Calls() int { s.mu.Lock(); defer s.mu.Unlock(); return s.calls }

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"stat": "FAIL", "code": code, "message": msg})
}

func ok(w http.ResponseWriter, resp any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"stat": "OK", "response": resp})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			fail(w, 400, 40000, "bad form")
			return
		}
		params = r.PostForm
	default:
		fail(w, 405, 40500, "method not allowed")
		return
	}
	date := r.Header.Get("Date")
	t, err := time.Parse(duo.DateFormat, date)
	if err != nil || time.Since(t).Abs() > 5*time.Minute {
		fail(w, 401, 40105, "Request has a missing or invalid Date header")
		return
	}
	user, pass, okAuth := r.BasicAuth()
	want := duo.Signature(s.SecretKey, date, r.Method, r.Host, r.URL.Path, params)
	if !okAuth || user != s.IntegrationKey || !hmac.Equal([]byte(pass), []byte(want)) {
		fail(w, 401, 40103, "Invalid signature in request credentials")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	switch r.Method + " " + r.URL.Path {
	case "POST /auth/v2/preauth":
		u := s.users[params.Get("username")]
		switch {
		case u == nil:
			ok(w, map[string]any{"result": "enroll", "status_msg": "Enroll an authentication device to proceed", "enroll_portal_url": "https://example.invalid/"})
		case u.Bypass:
			ok(w, map[string]any{"result": "allow", "status_msg": "Allowing unknown user"})
		default:
			ok(w, map[string]any{"result": "auth", "status_msg": "Account is active", "devices": []map[string]any{{
				"device": "DPFZRS9FB0D46QFTM891", "type": "phone", "display_name": "iOS (XXX-XXX-0100)", "capabilities": []string{"auto", "push", "mobile_otp"},
			}}})
		}
	case "POST /auth/v2/auth":
		u := s.users[params.Get("username")]
		if u == nil {
			fail(w, 400, 40002, "Invalid request parameters")
			return
		}
		switch params.Get("factor") {
		case "passcode":
			pc := params.Get("passcode")
			if u.Passcodes[pc] {
				delete(u.Passcodes, pc)
				ok(w, map[string]any{"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."})
			} else {
				ok(w, map[string]any{"result": "deny", "status": "deny", "status_msg": "Incorrect passcode. Please try again."})
			}
		case "push":
			if params.Get("async") != "1" || params.Get("device") == "" {
				fail(w, 400, 40002, "Invalid request parameters")
				return
			}
			s.pushes++
			id := strings.ToLower(randomHex(16))
			s.txs[id] = &tx{user: params.Get("username")}
			ok(w, map[string]any{"txid": id})
		default:
			fail(w, 400, 40002, "Invalid request parameters")
		}
	case "GET /auth/v2/auth_status":
		t := s.txs[params.Get("txid")]
		if t == nil {
			fail(w, 400, 40002, "Invalid request parameters")
			return
		}
		t.polls++
		outcome := s.users[t.user].Push
		if t.polls < 2 || outcome == Never {
			ok(w, map[string]any{"result": "waiting", "status": "pushed", "status_msg": "Pushed a login request to your phone..."})
			return
		}
		delete(s.txs, params.Get("txid"))
		switch outcome {
		case Approve:
			ok(w, map[string]any{"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."})
		case Timeout:
			ok(w, map[string]any{"result": "deny", "status": "timeout", "status_msg": "Login timed out."})
		default:
			ok(w, map[string]any{"result": "deny", "status": "deny", "status_msg": "Login request denied."})
		}
	default:
		fail(w, 404, 40401, fmt.Sprintf("Resource not found: %s", r.URL.Path))
	}
}
