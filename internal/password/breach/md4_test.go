package breach

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestMD4(t *testing.T) {
	// Test suite from RFC 1320, appendix A.5, plus lengths around the
	// 56-byte padding boundary.
	tests := []struct{ in, want string }{
		{"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"a", "bde52cb31de33e46245e05fbdbd6fb24"},
		{"abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"message digest", "d9130a8164549fe818874806e1c7014b"},
		{"abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"},
		{strings.Repeat("1234567890", 8), "e33b4ddc9c38f2199c3e7b164fcc0536"},
	}
	for _, tt := range tests {
		got := md4Sum([]byte(tt.in))
		if hex.EncodeToString(got[:16]) != tt.want || [4]byte(got[16:]) != [4]byte{} {
			t.Errorf("md4(%q) = %x, want %s", tt.in, got, tt.want)
		}
	}
}

func TestNTLM(t *testing.T) {
	// Well-known NTLM hashes.
	tests := []struct{ in, want string }{
		{"password", "8846F7EAEE8FB117AD06BDD830B7586C"},
		{"", "31D6CFE0D16AE931B73C59D7E0C089C0"},
	}
	for _, tt := range tests {
		d := NTLM.Digest(tt.in)
		if got := strings.ToUpper(hex.EncodeToString(d[:16])); got != tt.want {
			t.Errorf("ntlm(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
