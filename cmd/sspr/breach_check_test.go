package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallCorpus builds a corpus of "leaked-0".."leaked-99".
func smallCorpus(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	var lines []string
	for i := range 100 {
		sum := sha1.Sum(fmt.Appendf(nil, "leaked-%d", i))
		lines = append(lines, hex.EncodeToString(sum[:])+":1")
	}
	in := filepath.Join(tmp, "pwned.txt")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	corpus := filepath.Join(tmp, "corpus")
	if _, errOut, err := runBreach(t, "", "build", "--out", corpus, "--shards", "1", in); err != nil {
		t.Fatalf("build: %v\n%s", err, errOut)
	}
	return corpus
}

// countingWriter counts Write calls: each is a write() system call on a
// real stdout.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

// TestBreachCheckBuffersAnswers: piped input is answered in a few writes,
// not one per line.
func TestBreachCheckBuffersAnswers(t *testing.T) {
	corpus := smallCorpus(t)
	var in strings.Builder
	var want strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&in, "leaked-%d\n", i)
		if i < 100 {
			want.WriteString("found\n")
		} else {
			want.WriteString("not found\n")
		}
	}
	cmd := breachCmd()
	var out countingWriter
	cmd.SetArgs([]string{"check", "--corpus", corpus})
	cmd.SetIn(strings.NewReader(in.String()))
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("answers differ: got %d bytes, want %d", out.Len(), want.Len())
	}
	if out.writes > 3 {
		t.Errorf("%d writes for 2000 answers; want them buffered", out.writes)
	}
}

// oneLineAtATime hands out one line per Read, as a terminal does, and
// checks that every line handed out before has been answered by then: a
// person (or a program waiting for each answer) must never wait for an
// answer sitting in a buffer.
type oneLineAtATime struct {
	t     *testing.T
	lines []string
	given int
	out   *bytes.Buffer
}

func (r *oneLineAtATime) Read(p []byte) (int, error) {
	if got := strings.Count(r.out.String(), "\n"); got != r.given {
		r.t.Errorf("%d answer(s) visible after %d line(s) typed", got, r.given)
	}
	if r.given == len(r.lines) {
		return 0, io.EOF
	}
	n := copy(p, r.lines[r.given]+"\n")
	r.given++
	return n, nil
}

func TestBreachCheckAnswersEachTypedLine(t *testing.T) {
	corpus := smallCorpus(t)
	var out bytes.Buffer
	in := &oneLineAtATime{t: t, lines: []string{"leaked-1", "sunshine", "leaked-2"}, out: &out}
	cmd := breachCmd()
	cmd.SetArgs([]string{"check", "--corpus", corpus})
	cmd.SetIn(in)
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "found\nnot found\nfound\n" {
		t.Errorf("answers %q", out.String())
	}
}
