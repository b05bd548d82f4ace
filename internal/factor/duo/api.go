package duo

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// DateFormat is the Date header Duo signs: RFC 2822.
const DateFormat = "Mon, 02 Jan 2006 15:04:05 -0700"

// CanonParams encodes params as Duo's signature canonicalises them: keys
// sorted, keys and values percent-encoded (space as %20, '~' kept), joined
// by '&'. The same string is the request's query or form body.
func CanonParams(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(quote(k))
			b.WriteByte('=')
			b.WriteString(quote(v))
		}
	}
	return b.String()
}

func quote(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// Signature is Duo's v2 request signature: the hex HMAC-SHA1, under the
// secret key, of date, method, lower-case host, path and the canonical
// parameters, one per line.
func Signature(secretKey, date, method, host, path string, params url.Values) string {
	canon := strings.Join([]string{date, strings.ToUpper(method), strings.ToLower(host), path, CanonParams(params)}, "\n")
	m := hmac.New(sha1.New, []byte(secretKey))
	m.Write([]byte(canon))
	return hex.EncodeToString(m.Sum(nil))
}

// Authorization is the Authorization header value: HTTP Basic with the
// integration key as user and the signature as password.
func Authorization(integrationKey, secretKey, date, method, host, path string, params url.Values) string {
	sig := Signature(secretKey, date, method, host, path, params)
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(integrationKey+":"+sig))
}

// Response is a decoded Auth API answer.
type Response struct {
	Stat    string          `json:"stat"`
	Code    int             `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
	Detail  string          `json:"message_detail,omitempty"`
	Result  json.RawMessage `json:"response,omitempty"`
}

// Result is the response field of preauth, auth and auth_status.
type Result struct {
	Result    string   `json:"result"`
	Status    string   `json:"status,omitempty"`
	StatusMsg string   `json:"status_msg,omitempty"`
	TxID      string   `json:"txid,omitempty"`
	Devices   []Device `json:"devices,omitempty"`
}

// Device is one of a person's Duo devices (preauth).
type Device struct {
	Device       string   `json:"device"`
	Type         string   `json:"type,omitempty"`
	DisplayName  string   `json:"display_name,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// ErrAPI is wrapped by errors the Auth API reports (stat FAIL) and by
// answers that do not follow its format.
var ErrAPI = errors.New("duo: Auth API error")

// ParseResult checks a response body: stat OK with a response object
// whose result is one Duo defines for the endpoint, or stat FAIL with a
// code and message (returned as an error wrapping ErrAPI).
func ParseResult(body []byte, allowed ...string) (Result, error) {
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		return Result{}, fmt.Errorf("%w: the answer is not JSON: %v", ErrAPI, err)
	}
	switch r.Stat {
	case "OK":
	case "FAIL":
		return Result{}, fmt.Errorf("%w %d: %s %s", ErrAPI, r.Code, printable(r.Message), printable(r.Detail))
	default:
		return Result{}, fmt.Errorf("%w: stat %q", ErrAPI, printable(r.Stat))
	}
	var res Result
	if len(r.Result) == 0 || json.Unmarshal(r.Result, &res) != nil {
		return Result{}, fmt.Errorf("%w: stat OK without a response object", ErrAPI)
	}
	if len(allowed) > 0 {
		ok := false
		for _, a := range allowed {
			ok = ok || res.Result == a
		}
		if !ok {
			return Result{}, fmt.Errorf("%w: unexpected result %q", ErrAPI, printable(res.Result))
		}
	}
	return res, nil
}

// printable keeps what is safe to put in a log line.
func printable(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
