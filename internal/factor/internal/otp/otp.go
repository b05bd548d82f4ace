package otp

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/factor"
)

// MinKeyLen is the shortest HMAC key accepted.
const MinKeyLen = 32

// Purposes of a state.
const (
	Enroll = "enroll"
	Verify = "verify"
)

// Code returns n random decimal digits from crypto/rand.
func Code(n int) (string, error) {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		return "", err
	}
	s := v.String()
	return strings.Repeat("0", n-len(s)) + s, nil
}

// State is the JSON a challenge leaves with the caller.
type State struct {
	V       int    `json:"v"`
	Kind    string `json:"k"`
	Purpose string `json:"p"`
	To      string `json:"to"`
	Nonce   []byte `json:"n"`
	Expires int64  `json:"exp"`
	MAC     []byte `json:"mac"`
}

func mac(key []byte, st State, s factor.Subject, code string) []byte {
	h := hmac.New(sha256.New, key)
	for _, part := range []string{
		"sspr/factor/otp/v1", st.Kind, st.Purpose, s.Directory, strings.ToLower(s.DN),
		st.To, string(st.Nonce), strconv.FormatInt(st.Expires, 10), code,
	} {
		// Length-prefixed, so no two lists of parts hash alike.
		h.Write([]byte(strconv.Itoa(len(part))))
		h.Write([]byte{':'})
		h.Write([]byte(part))
	}
	return h.Sum(nil)
}

// Issue returns the state for code sent to to.
func Issue(key []byte, kind factor.Kind, purpose string, s factor.Subject, to, code string, expires time.Time) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	st := State{V: 1, Kind: string(kind), Purpose: purpose, To: to, Nonce: nonce, Expires: expires.Unix()}
	st.MAC = mac(key, st, s, code)
	return json.Marshal(st)
}

// Check verifies code against state for s and returns the destination the
// code went to. Errors: factor.ErrExpired, factor.ErrWrongResponse (a wrong
// code, or a state for another subject, kind or purpose).
func Check(key []byte, kind factor.Kind, purpose string, s factor.Subject, state []byte, code string, now time.Time) (string, error) {
	var st State
	if err := json.Unmarshal(state, &st); err != nil || st.V != 1 {
		return "", fmt.Errorf("%w: unreadable state", factor.ErrWrongResponse)
	}
	// Only the exact bytes Issue wrote are accepted: base64 ignores the
	// unused bits of its last character, so a state altered there would
	// otherwise decode to the same values.
	if canon, err := json.Marshal(st); err != nil || !bytes.Equal(canon, state) {
		return "", fmt.Errorf("%w: altered state", factor.ErrWrongResponse)
	}
	if st.Kind != string(kind) || st.Purpose != purpose {
		return "", fmt.Errorf("%w: state of another step", factor.ErrWrongResponse)
	}
	if !now.Before(time.Unix(st.Expires, 0)) {
		return "", factor.ErrExpired
	}
	code = CleanCode(code)
	if code == "" {
		return "", fmt.Errorf("%w: no code", factor.ErrWrongResponse)
	}
	if !hmac.Equal(mac(key, st, s, code), st.MAC) {
		return "", factor.ErrWrongResponse
	}
	return st.To, nil
}

// CleanCode drops the spaces and dashes people type inside codes.
func CleanCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t', '\u00a0':
			return -1
		}
		return r
	}, code)
}

// CheckConfig validates the settings both code factors share and fills
// defaults.
func CheckConfig(name string, key []byte, length *int, ttl *time.Duration, now *func() time.Time) error {
	var errs []error
	if len(key) < MinKeyLen {
		errs = append(errs, fmt.Errorf("%s: the HMAC key has %d bytes, want at least %d", name, len(key), MinKeyLen))
	}
	if *length == 0 {
		*length = 6
	}
	if *length < 6 || *length > 12 {
		errs = append(errs, fmt.Errorf("%s: code length %d is outside 6..12", name, *length))
	}
	if *ttl == 0 {
		*ttl = 10 * time.Minute
	}
	if *ttl < 0 {
		errs = append(errs, fmt.Errorf("%s: code lifetime %s is negative", name, *ttl))
	}
	if *now == nil {
		*now = time.Now
	}
	return errors.Join(errs...)
}
