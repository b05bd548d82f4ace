package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sspr/sspr/internal/directory"
)

// Path is where the server accepts connectors.
const Path = "/connector/v1"

// maxMessage bounds one message either way: a health report or a group
// list is the largest thing that crosses.
const maxMessage = 1 << 20

// Message types.
const (
	typeChallenge = "challenge" // server → connector: a fresh nonce
	typeHello     = "hello"     // connector → server: name, directory, signature
	typeWelcome   = "welcome"   // server → connector: accepted, and what to read
	typeCall      = "call"      // server → connector: one directory operation
	typeResult    = "result"    // connector → server: its outcome
)

// Operations a call can ask for.
const (
	opFind       = "find"
	opVerify     = "verify"
	opReset      = "reset"
	opChange     = "change"
	opUnlock     = "unlock"
	opMustChange = "must_change"
	opStatus     = "status"
	opPolicy     = "policy"
	opGroups     = "groups"
	opCheck      = "check"
)

// ops lists the known operations and whether a call of that kind needs a
// user (every one but find and check).
var ops = map[string]bool{
	opFind: false, opVerify: true, opReset: true, opChange: true, opUnlock: true,
	opMustChange: true, opStatus: true, opPolicy: true, opGroups: true, opCheck: false,
}

// message is every message of the protocol; T says which fields matter.
// Passwords appear only in calls, which cross only inside TLS and are
// never logged (message has no String method, and nothing logs one).
type message struct {
	T string `json:"t"`

	// challenge
	Nonce []byte `json:"nonce,omitempty"`

	// hello
	Name      string `json:"name,omitempty"`
	Directory string `json:"directory,omitempty"`
	Sig       []byte `json:"sig,omitempty"`
	Version   string `json:"version,omitempty"`

	// welcome: the attributes lookups must read besides the usual ones
	// (attribute questions, the attributes sync maps people by).
	Attributes []string `json:"attributes,omitempty"`

	// call and result
	ID uint64 `json:"id,omitempty"`

	// call
	Op          string    `json:"op,omitempty"`
	Login       string    `json:"login,omitempty"`
	User        *wireUser `json:"user,omitempty"`
	Password    string    `json:"password,omitempty"`
	OldPassword string    `json:"old_password,omitempty"`
	MustChange  bool      `json:"must_change,omitempty"`

	// result (User above for find)
	Status *directory.AccountStatus  `json:"status,omitempty"`
	Policy *directory.PasswordPolicy `json:"policy,omitempty"`
	Groups []string                  `json:"groups,omitempty"`
	Report *directory.Report         `json:"report,omitempty"`
	Error  *wireError                `json:"error,omitempty"`
}

// wireUser is a directory.User on the wire. Attribute values travel as
// bytes (base64 in JSON): some are binary (AD objectGUID, which password
// sync maps people by), and a JSON string would mangle them.
type wireUser struct {
	Directory        string              `json:"directory,omitempty"`
	DN               string              `json:"dn"`
	Login            string              `json:"login,omitempty"`
	DisplayName      string              `json:"display_name,omitempty"`
	Email            string              `json:"email,omitempty"`
	Mobile           string              `json:"mobile,omitempty"`
	Manager          string              `json:"manager,omitempty"`
	OU               string              `json:"ou,omitempty"`
	Attributes       map[string][][]byte `json:"attributes,omitempty"`
	StatusAttributes map[string][][]byte `json:"status_attributes,omitempty"`
	ReadAt           time.Time           `json:"read_at,omitzero"`
}

func toWireUser(u *directory.User) *wireUser {
	if u == nil {
		return nil
	}
	return &wireUser{Directory: u.Directory, DN: u.DN, Login: u.Login, DisplayName: u.DisplayName, Email: u.Email,
		Mobile: u.Mobile, Manager: u.Manager, OU: u.OU, Attributes: toBytes(u.Attributes),
		StatusAttributes: toBytes(u.StatusAttributes), ReadAt: u.ReadAt}
}

func (w *wireUser) user() *directory.User {
	if w == nil {
		return nil
	}
	return &directory.User{Directory: w.Directory, DN: w.DN, Login: w.Login, DisplayName: w.DisplayName, Email: w.Email,
		Mobile: w.Mobile, Manager: w.Manager, OU: w.OU, Attributes: fromBytes(w.Attributes),
		StatusAttributes: fromBytes(w.StatusAttributes), ReadAt: w.ReadAt}
}

func toBytes(m map[string][]string) map[string][][]byte {
	if m == nil {
		return nil
	}
	out := make(map[string][][]byte, len(m))
	for k, vs := range m {
		bs := make([][]byte, len(vs))
		for i, v := range vs {
			bs[i] = []byte(v)
		}
		out[k] = bs
	}
	return out
}

func fromBytes(m map[string][][]byte) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, bs := range m {
		vs := make([]string, len(bs))
		for i, b := range bs {
			vs[i] = string(b)
		}
		out[k] = vs
	}
	return out
}

// wireError carries a *directory.Error across, kinds and reasons by their
// stable names so that both ends need not share numbering.
type wireError struct {
	Kind       string   `json:"kind"`
	Reasons    []string `json:"reasons,omitempty"`
	MinLength  int      `json:"min_length,omitempty"`
	Op         string   `json:"op,omitempty"`
	Diagnostic string   `json:"diagnostic,omitempty"`
}

var (
	kindByName   = map[string]directory.Kind{}
	reasonByName = map[string]directory.Reason{}
)

func init() {
	for _, k := range directory.Kinds() {
		kindByName[k.String()] = k
	}
	for _, r := range directory.Reasons() {
		reasonByName[r.String()] = r
	}
}

// toWire turns the local directory's error into its wire form; an error
// that is not a *directory.Error travels as kind unknown with its text as
// the diagnostic (for the server's logs only).
func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	var de *directory.Error
	if !errors.As(err, &de) {
		return &wireError{Kind: directory.KindUnknown.String(), Diagnostic: err.Error()}
	}
	w := &wireError{Kind: de.Kind.String(), MinLength: de.MinLength, Op: de.Op, Diagnostic: de.Diagnostic}
	if w.Diagnostic == "" && de.Err != nil {
		w.Diagnostic = de.Err.Error()
	}
	for _, r := range de.Reasons {
		w.Reasons = append(w.Reasons, r.String())
	}
	return w
}

// fromWire turns a wire error back into a *directory.Error; names this end
// does not know become KindUnknown and ReasonUnspecified.
func (w *wireError) fromWire() error {
	e := &directory.Error{Kind: kindByName[w.Kind], MinLength: w.MinLength, Op: w.Op, Diagnostic: w.Diagnostic}
	for _, r := range w.Reasons {
		e.Reasons = append(e.Reasons, reasonByName[r])
	}
	return e
}

// parseMessage decodes and checks one message: a known type with the
// fields that type needs. Unknown JSON fields are ignored, so that a newer
// peer can add some.
func parseMessage(data []byte) (*message, error) {
	if len(data) > maxMessage {
		return nil, fmt.Errorf("message of %d bytes is over the %d-byte limit", len(data), maxMessage)
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("malformed message: %w", err)
	}
	switch m.T {
	case typeChallenge:
		if len(m.Nonce) != nonceSize {
			return nil, fmt.Errorf("challenge: nonce of %d bytes, want %d", len(m.Nonce), nonceSize)
		}
	case typeHello:
		if m.Name == "" || m.Directory == "" || len(m.Sig) == 0 {
			return nil, errors.New("hello: name, directory and sig are required")
		}
	case typeWelcome:
	case typeCall:
		needsUser, ok := ops[m.Op]
		switch {
		case !ok:
			return nil, fmt.Errorf("call: unknown op %q", m.Op)
		case m.ID == 0:
			return nil, errors.New("call: id is required")
		case needsUser && (m.User == nil || m.User.DN == ""):
			return nil, fmt.Errorf("call %s: a user with a DN is required", m.Op)
		case m.Op == opFind && m.Login == "":
			return nil, errors.New("call find: login is required")
		}
	case typeResult:
		if m.ID == 0 {
			return nil, errors.New("result: id is required")
		}
		if m.Error != nil && m.Error.Kind == "" {
			return nil, errors.New("result: an error needs a kind")
		}
	default:
		return nil, fmt.Errorf("unknown message type %q", m.T)
	}
	return &m, nil
}

// nonceSize is the challenge's size in bytes.
const nonceSize = 32

// signedBytes is what a connector signs to prove its key: a fixed context,
// the server's fresh nonce (so a signature cannot be replayed on another
// connection) and the names it claims.
func signedBytes(nonce []byte, name, dir string) []byte {
	b := []byte("sspr connector v1\x00")
	b = append(b, nonce...)
	b = append(b, 0)
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, dir...)
	return b
}

// freshUser is u without the status attributes its lookup read, so that
// a status read of it asks the directory instead of answering from them
// (the settling read after a lost write must see the write).
func freshUser(u *directory.User) *directory.User {
	c := *u
	c.StatusAttributes, c.ReadAt = nil, time.Time{}
	return &c
}
