package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The man pages come from the command tree: one page per visible command,
// none for the hidden generator itself, and the flags as the binary has
// them.
func TestDocsManWritesOnePagePerVisibleCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600") // 2026-01-01
	var stdout, stderr bytes.Buffer
	if code := run([]string{"docs", "man", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("sspr docs man: exit %d, stderr %q", code, stderr.String())
	}
	for _, page := range []string{"sspr.1", "sspr-serve.1", "sspr-config-check.1", "sspr-keys-generate.1", "sspr-completion-bash.1"} {
		if _, err := os.Stat(filepath.Join(dir, page)); err != nil {
			t.Errorf("missing man page %s: %v", page, err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "sspr-docs*"))
	if len(matches) > 0 {
		t.Errorf("the hidden docs command got man pages: %v", matches)
	}
	serve, err := os.ReadFile(filepath.Join(dir, "sspr-serve.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`\fB--config\fP`, "/etc/sspr/sspr.yaml", "Jan 2026"} {
		if !strings.Contains(string(serve), want) {
			t.Errorf("sspr-serve.1 lacks %q:\n%s", want, serve)
		}
	}
}

func TestDocsManRefusesABadSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"docs", "man", t.TempDir()}, &stdout, &stderr); code == 0 {
		t.Fatal("sspr docs man accepted SOURCE_DATE_EPOCH=yesterday")
	}
	if !strings.Contains(stderr.String(), "SOURCE_DATE_EPOCH") {
		t.Errorf("the error does not name SOURCE_DATE_EPOCH: %q", stderr.String())
	}
}
