package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/password/breach"
)

func runBreach(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := breachCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestBreachBuildCheckStats(t *testing.T) {
	tmp := t.TempDir()
	var lines []string
	for i := range 500 {
		sum := sha1.Sum([]byte(fmt.Sprintf("leaked-%d", i)))
		lines = append(lines, strings.ToUpper(hex.EncodeToString(sum[:]))+":3")
	}
	lines = append(lines, "garbage line")
	in := filepath.Join(tmp, "pwned.txt")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\r\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(tmp, "corpus")

	out, errOut, err := runBreach(t, "", "build", "--out", corpus, "--shards", "4", in)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "500 keys") || !strings.Contains(out, "4 shards") {
		t.Errorf("build output: %q", out)
	}
	if !strings.Contains(errOut, "1 malformed line") || !strings.Contains(errOut, "pwned.txt:501:") {
		t.Errorf("build stderr lacks the malformed line: %q", errOut)
	}
	if !strings.Contains(errOut, "filter") || !strings.Contains(errOut, "100.0%") {
		t.Errorf("build stderr lacks progress: %q", errOut)
	}

	out, _, err = runBreach(t, "leaked-7\nnot-leaked-at-all\r\nleaked-499\n", "check", "--corpus", corpus)
	if err != nil {
		t.Fatal(err)
	}
	if out != "found\nnot found\nfound\n" {
		t.Errorf("check output %q", out)
	}
	if strings.Contains(out, "leaked") {
		t.Error("check echoed a password")
	}

	sum := sha1.Sum([]byte("leaked-3"))
	out, _, err = runBreach(t, "", "check", "--corpus", corpus, "--sha1", hex.EncodeToString(sum[:]))
	if err != nil || out != "found\n" {
		t.Errorf("check --sha1: %q, %v", out, err)
	}
	if _, _, err = runBreach(t, "", "check", "--corpus", corpus, "--ntlm", strings.Repeat("0", 32)); err == nil {
		t.Error("check --ntlm on a SHA-1 corpus succeeded")
	}
	if _, _, err = runBreach(t, "", "check", "--corpus", corpus, "--sha1", "abc"); err == nil {
		t.Error("check with a short hash succeeded")
	}

	out, _, err = runBreach(t, "", "stats", "--corpus", corpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"keys:            500", "shards:          4", "bits per key:", "checksums:       yes, all 4 sha256"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}

	// A damaged corpus is refused with the shard named.
	shard := filepath.Join(corpus, "shard-02.bf16")
	b, _ := os.ReadFile(shard)
	b[len(b)-1] ^= 1
	os.WriteFile(shard, b, 0o644)
	_, _, err = runBreach(t, "x\n", "check", "--corpus", corpus)
	if err == nil || !strings.Contains(err.Error(), "shard 0x02: checksum mismatch") {
		t.Errorf("check on a damaged corpus: %v", err)
	}
	_, _, err = runBreach(t, "", "stats", "--corpus", filepath.Join(tmp, "missing"))
	if err == nil || !strings.Contains(err.Error(), "no breached-password corpus") {
		t.Errorf("stats on a missing corpus: %v", err)
	}
}

func TestBreachProgressBar(t *testing.T) {
	var buf bytes.Buffer
	bar := newBreachProgressBar(&buf) // not a terminal: plain lines
	clock := time.Unix(0, 0)
	bar.now = func() time.Time { return clock }
	bar.update(breach.BuildProgress{Stage: breach.StagePartition, Done: 0, Total: 100, Keys: 0})
	clock = clock.Add(10 * time.Second)
	bar.update(breach.BuildProgress{Stage: breach.StagePartition, Done: 50, Total: 100, Keys: 2_000_000})
	clock = clock.Add(time.Second) // too soon for another line
	bar.update(breach.BuildProgress{Stage: breach.StagePartition, Done: 60, Total: 100, Keys: 2_400_000})
	bar.finish()
	got := buf.String()
	if strings.Contains(got, "\r") {
		t.Errorf("carriage return written to a non-terminal: %q", got)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), got)
	}
	for _, want := range []string{"50.0%", "2.00M keys", "200.0k keys/s", "ETA 0:10"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("line %q lacks %q", lines[1], want)
		}
	}
}
