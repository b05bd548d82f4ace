package yubikey

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Modhex is the YubiKey's alphabet for the 16 nibble values: letters whose
// key positions are the same on most keyboard layouts.
const Modhex = "cbdefghijklnrtuv"

// OTP lengths: 32 modhex characters of encrypted token, after a public ID
// of up to 16 octets (32 characters; YubiKeys ship with 6 octets, 12
// characters).
const (
	tokenLen    = 32
	maxOTPLen   = 64
	publicIDLen = 12
)

// ErrMalformed: a response (or an OTP) does not follow the protocol.
var ErrMalformed = errors.New("yubikey: malformed")

// NormaliseOTP lowercases otp and checks that it is modhex of a plausible
// length; it returns the OTP and its public ID (the characters before the
// last 32).
func NormaliseOTP(otp string) (string, string, error) {
	otp = strings.ToLower(strings.TrimSpace(otp))
	if len(otp) < tokenLen+2 || len(otp) > maxOTPLen {
		return "", "", fmt.Errorf("%w: an OTP is 34 to 64 characters", ErrMalformed)
	}
	for i := 0; i < len(otp); i++ {
		if strings.IndexByte(Modhex, otp[i]) < 0 {
			return "", "", fmt.Errorf("%w: an OTP is modhex (%s)", ErrMalformed, Modhex)
		}
	}
	return otp, otp[:len(otp)-tokenLen], nil
}

// Sign computes the protocol's signature h of the parameters (all but h):
// HMAC-SHA1, under the API key, of the key=value pairs sorted by key and
// joined by '&', in base64 (Yubico validation protocol 2.0, "Generating
// signatures").
func Sign(params map[string]string, key []byte) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "h" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	m := hmac.New(sha1.New, key)
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks params' h against the others.
func Verify(params map[string]string, key []byte) bool {
	got, err := base64.StdEncoding.DecodeString(params["h"])
	if err != nil {
		return false
	}
	want, _ := base64.StdEncoding.DecodeString(Sign(params, key))
	return hmac.Equal(got, want)
}

// ParseResponse reads a verification response: key=value lines (CRLF or
// LF), values taken verbatim after the first '='. A key given twice, a
// line without '=', or a response without h or status is malformed.
func ParseResponse(body []byte) (map[string]string, error) {
	if len(body) > 4096 {
		return nil, fmt.Errorf("%w: response of %d octets", ErrMalformed, len(body))
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: response line %q", ErrMalformed, truncate(line))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: %q given twice", ErrMalformed, k)
		}
		out[k] = v
	}
	if out["h"] == "" || out["status"] == "" {
		return nil, fmt.Errorf("%w: response without h or status", ErrMalformed)
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Query encodes request parameters with their signature.
func Query(params map[string]string, key []byte) string {
	v := url.Values{}
	for k, x := range params {
		v.Set(k, x)
	}
	v.Set("h", Sign(params, key))
	return v.Encode()
}
