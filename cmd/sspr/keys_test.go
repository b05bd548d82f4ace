package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sspr/sspr/internal/secrets"
)

func runKeys(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	cmd := keysCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestKeysGenerateAddList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyring")

	out, errOut, err := runKeys(t, "generate", "--out", path)
	if err != nil {
		t.Fatalf("generate: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "version 1") {
		t.Errorf("generate output %q", out)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode %v, want 0600", fi.Mode().Perm())
	}
	ring1, err := secrets.LoadKeyRing(path)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := ring1.Seal([]byte("seed"), []byte("enrollment:1:secret"))
	if err != nil {
		t.Fatal(err)
	}

	// generate refuses to overwrite: that would lose every key.
	if _, _, err := runKeys(t, "generate", "--out", path); err == nil {
		t.Error("generate overwrote an existing keyring")
	}

	out, errOut, err = runKeys(t, "add", "--keyring", path)
	if err != nil {
		t.Fatalf("add: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "added key version 2 (current)") || !strings.Contains(out, "versions 1, 2") {
		t.Errorf("add output %q", out)
	}
	ring2, err := secrets.LoadKeyRing(path)
	if err != nil {
		t.Fatal(err)
	}
	if ring2.Current() != 2 {
		t.Errorf("current after add = %d, want 2", ring2.Current())
	}
	if got, err := ring2.Open(sealed, []byte("enrollment:1:secret")); err != nil || string(got) != "seed" {
		t.Errorf("old data after add: %q, %v", got, err)
	}
	if !ring2.NeedsRotation(sealed) {
		t.Error("old data does not need rotation after add")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("keyring mode after add %v, want 0600", fi.Mode().Perm())
	}

	out, _, err = runKeys(t, "list", "--keyring", path)
	if err != nil {
		t.Fatal(err)
	}
	if out != "version 1\nversion 2 (current)\n" {
		t.Errorf("list output %q", out)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(out, strings.Split(strings.Split(string(raw), "\n")[2], ":")[1]) {
		t.Error("list printed a key")
	}
}

func TestKeysErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runKeys(t, "generate"); err == nil || !strings.Contains(err.Error(), "out") {
		t.Errorf("generate without --out: %v", err)
	}
	if _, _, err := runKeys(t, "add", "--keyring", filepath.Join(dir, "missing")); err == nil {
		t.Error("add to a missing keyring succeeded")
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("1:not-base64\n"), 0o600)
	_, _, err := runKeys(t, "add", "--keyring", bad)
	if err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("add to a malformed keyring: %v", err)
	}
	if raw, _ := os.ReadFile(bad); string(raw) != "1:not-base64\n" {
		t.Error("a malformed keyring was rewritten")
	}
}
