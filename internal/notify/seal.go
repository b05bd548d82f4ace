package notify

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/sspr/sspr/internal/store"
)

// Sealer encrypts outbox contents at rest (secrets.KeyRing).
type Sealer interface {
	Seal(plaintext, associatedData []byte) ([]byte, error)
	Open(ciphertext, associatedData []byte) ([]byte, error)
}

// sealedPrefix marks a sealed outbox field.
const sealedPrefix = "sealed:"

// messageFields are the parts of a message that hold personal data or codes.
func messageFields(m *store.Message) map[string]*string {
	return map[string]*string{"recipient": &m.Recipient, "subject": &m.Subject, "text": &m.TextBody, "html": &m.HTMLBody, "attachments": &m.Attachments}
}

func fieldAD(m *store.Message, name string) []byte {
	return []byte("outbox:" + m.MessageID + ":" + name)
}

// SealMessage encrypts a message's recipient, subject and bodies before it
// is stored, so the outbox holds no address, number or code in clear; each
// field is bound to the message and its name.
func SealMessage(s Sealer, m *store.Message) error {
	for name, f := range messageFields(m) {
		if *f == "" {
			continue
		}
		ct, err := s.Seal([]byte(*f), fieldAD(m, name))
		if err != nil {
			return fmt.Errorf("sealing the outbox %s: %w", name, err)
		}
		*f = sealedPrefix + base64.RawStdEncoding.EncodeToString(ct)
	}
	return nil
}

// OpenMessage decrypts what SealMessage sealed; fields without the prefix
// are left as they are.
func OpenMessage(s Sealer, m *store.Message) error {
	for name, f := range messageFields(m) {
		rest, ok := strings.CutPrefix(*f, sealedPrefix)
		if !ok {
			continue
		}
		if s == nil {
			return fmt.Errorf("the outbox %s is sealed and no key ring is configured", name)
		}
		ct, err := base64.RawStdEncoding.DecodeString(rest)
		if err != nil {
			return fmt.Errorf("the outbox %s is damaged: %w", name, err)
		}
		pt, err := s.Open(ct, fieldAD(m, name))
		if err != nil {
			return fmt.Errorf("opening the outbox %s: %w", name, err)
		}
		*f = string(pt)
	}
	return nil
}
