package web

import (
	"crypto/rand"
	"net/http"
	"time"

	"github.com/sspr/sspr/internal/access"
)

// KnownDevices remembers browsers that completed a verification (a signed,
// expiring cookie; access.Devices) and tells the flows, through the
// request's context, when a request comes from one — for conditional
// access's `device: known`. A nil *KnownDevices does nothing.
type KnownDevices struct {
	Devices *access.Devices
	Secure  bool
	Now     func() time.Time
}

func (k *KnownDevices) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Middleware marks a request carrying a valid cookie as from a known
// device. An invalid or expired cookie is ignored: the device is unknown.
func (k *KnownDevices) Middleware(next http.Handler) http.Handler {
	if k == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(access.DeviceCookie); err == nil && k.Devices.Check(c.Value, k.now()) == nil {
			r = r.WithContext(access.WithDevice(r.Context(), access.Device{Known: true, Via: "cookie"}))
		}
		next.ServeHTTP(w, r)
	})
}

// Remember sets a fresh known-device cookie, after a completed
// verification. It names nobody (see access.Devices).
func (k *KnownDevices) Remember(w http.ResponseWriter) {
	if k == nil {
		return
	}
	tok, err := k.Devices.Issue(k.now(), rand.Reader)
	if err != nil {
		return // the device stays unknown; nothing else depends on it
	}
	http.SetCookie(w, &http.Cookie{Name: access.DeviceCookie, Value: tok, Path: "/", MaxAge: int(k.Devices.TTL.Seconds()),
		HttpOnly: true, Secure: k.Secure, SameSite: http.SameSiteLaxMode})
}
