package access

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sspr/sspr/internal/secrets"
)

// DeviceCookie is the name of the known-device cookie.
const DeviceCookie = "sspr_device"

// Devices issues and checks known-device tokens: set as a cookie once a
// verification completed, they mark the browser as one that has proven
// someone before. A token is "d1.<key version>.<expiry>.<random>.<MAC>",
// the MAC an HMAC-SHA256 under a key derived from the key ring's key of
// that version, so rotating the key ring keeps tokens valid while their
// key is in it. A token names nobody: it is checked before anyone is
// identified, and must not tell who used the device.
type Devices struct {
	Ring *secrets.KeyRing
	TTL  time.Duration
}

const devicePurpose = "hmac:known-device"

func (d *Devices) key(version uint32) []byte {
	for _, k := range d.Ring.Keys() {
		if k.Version == version {
			return secrets.Derive(k.Secret, devicePurpose)
		}
	}
	return nil
}

// Issue returns a new token valid until now+TTL.
func (d *Devices) Issue(now time.Time, rnd io.Reader) (string, error) {
	nonce := make([]byte, 16)
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return "", err
	}
	v := d.Ring.Current()
	body := "d1." + strconv.FormatUint(uint64(v), 10) + "." + strconv.FormatInt(now.Add(d.TTL).Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString(nonce)
	return body + "." + base64.RawURLEncoding.EncodeToString(mac(d.key(v), body)), nil
}

// Errors of Check.
var (
	ErrDeviceInvalid = errors.New("access: known-device token invalid")
	ErrDeviceExpired = errors.New("access: known-device token expired")
)

// Check verifies a token (constant-time MAC compare) and its expiry.
func (d *Devices) Check(token string, now time.Time) error {
	if d == nil || d.Ring == nil || len(token) > 200 {
		return ErrDeviceInvalid
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 {
		return ErrDeviceInvalid
	}
	body, sig := token[:i], token[i+1:]
	parts := strings.Split(body, ".")
	if len(parts) != 4 || parts[0] != "d1" {
		return ErrDeviceInvalid
	}
	v, err := strconv.ParseUint(parts[1], 10, 32)
	if err != nil {
		return ErrDeviceInvalid
	}
	key := d.key(uint32(v))
	// Compared in canonical encoding: decoding forgives trailing bits and
	// line breaks, so other spellings of the token would pass.
	if key == nil || !hmac.Equal([]byte(sig), []byte(base64.RawURLEncoding.EncodeToString(mac(key, body)))) {
		return ErrDeviceInvalid
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return ErrDeviceInvalid
	}
	if !now.Before(time.Unix(exp, 0)) {
		return ErrDeviceExpired
	}
	return nil
}

func mac(key []byte, body string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(body))
	return h.Sum(nil)
}
