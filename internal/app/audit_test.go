package app

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/config"
)

// TestWarnKeyFileModes: a group- or world-readable key ring or HMAC key
// file draws a start-up warning naming the file and its key; private ones
// draw none.
func TestWarnKeyFileModes(t *testing.T) {
	dir := t.TempDir()
	ring, hmacKey := filepath.Join(dir, "keyring"), filepath.Join(dir, "hmac")
	for _, p := range []string{ring, hmacKey} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{}
	cfg.Secrets.KeyringFile = ring
	cfg.Secrets.HMACKey.File = hmacKey
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	warnKeyFileModes(cfg, log)
	if buf.Len() != 0 {
		t.Fatalf("private files drew warnings:\n%s", buf.String())
	}
	if err := os.Chmod(ring, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(hmacKey, 0o644); err != nil {
		t.Fatal(err)
	}
	warnKeyFileModes(cfg, log)
	out := buf.String()
	for _, want := range []string{
		"level=WARN", "keyring " + ring + " has mode 0640", "key=secrets.keyring_file",
		"HMAC key file " + hmacKey + " has mode 0644", "key=secrets.hmac_key_file",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the warnings lack %q:\n%s", want, out)
		}
	}
}
