package voicetest

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Call is one call the server accepted.
type Call struct {
	SID   string
	To    string
	From  string
	Twiml string
	// Said is the text of each <Say>, in order: what the person hears.
	Said []string
}

// Twilio is a local server speaking Twilio's Voice Calls API:
//
//	POST /2010-04-01/Accounts/{AccountSID}/Calls.json
//
// It checks Basic auth (AccountSID:AuthToken), the account in the path,
// To (E.164, else 400/21211), From, and Twiml (well-formed TwiML with a
// <Response> root of known verbs, else 400/12100), and answers 201 with a
// Twilio-shaped call resource, or Twilio-shaped errors (401/20003,
// 404/20404).
type Twilio struct {
	AccountSID string
	AuthToken  string

	srv *httptest.Server

	mu    sync.Mutex
	calls []Call
}

// New starts a server with fresh credentials; it stops when the test
// ends.
func New(t testing.TB) *Twilio {
	t.Helper()
	tw := &Twilio{AccountSID: "AC" + randomHex(16), AuthToken: randomHex(16)}
	tw.srv = httptest.NewServer(http.HandlerFunc(tw.serve))
	t.Cleanup(tw.srv.Close)
	return tw
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// URL is the base URL to configure as the API endpoint.
func (tw *Twilio) URL() string { return tw.srv.URL }

// Calls returns the calls accepted so far, oldest first.
func (tw *Twilio) Calls() []Call {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return append([]Call(nil), tw.calls...)
}

var (
	pathRE  = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Calls\.json$`)
	e164RE  = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	verbsOK = map[string]bool{"Say": true, "Pause": true, "Play": true, "Hangup": true}
)

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": "https://www.twilio.com/docs/errors/" + itoa(code), "status": status})
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func (tw *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost || m == nil {
		fail(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(tw.AccountSID)) != 1 || subtle.ConstantTimeCompare([]byte(pass), []byte(tw.AuthToken)) != 1 {
		fail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if m[1] != tw.AccountSID {
		fail(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(w, http.StatusBadRequest, 20001, "Bad request")
		return
	}
	to, from, twiml := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Twiml")
	if !e164RE.MatchString(to) {
		fail(w, http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: "+to)
		return
	}
	if !e164RE.MatchString(from) {
		fail(w, http.StatusBadRequest, 21212, "Invalid 'From' Phone Number")
		return
	}
	said, err := parseTwiML(twiml)
	if err != nil {
		fail(w, http.StatusBadRequest, 12100, "Document parse failure: "+err.Error())
		return
	}
	call := Call{SID: "CA" + randomHex(16), To: to, From: from, Twiml: twiml, Said: said}
	tw.mu.Lock()
	tw.calls = append(tw.calls, call)
	tw.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"sid": call.SID, "account_sid": tw.AccountSID, "to": to, "from": from,
		"status": "queued", "direction": "outbound-api", "api_version": "2010-04-01"})
}

// parseTwiML checks a <Response> of known verbs and returns what its
// <Say> verbs say.
func parseTwiML(doc string) ([]string, error) {
	if strings.TrimSpace(doc) == "" {
		return nil, errors.New("no Twiml")
	}
	d := xml.NewDecoder(bytes.NewReader([]byte(doc)))
	var said []string
	depth := 0
	var text *strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local != "Response":
				return nil, errors.New("the root is not <Response>")
			case depth == 2 && !verbsOK[t.Name.Local]:
				return nil, errors.New("unknown verb <" + t.Name.Local + ">")
			case depth > 2:
				return nil, errors.New("nested elements")
			}
			if depth == 2 && t.Name.Local == "Say" {
				text = &strings.Builder{}
			}
		case xml.EndElement:
			if depth == 2 && text != nil {
				said = append(said, text.String())
				text = nil
			}
			depth--
		case xml.CharData:
			if text != nil {
				text.Write(t)
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("unclosed elements")
	}
	return said, nil
}
