package breach

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testClock = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }

// testPasswords returns n distinct passwords derived from tag.
func testPasswords(tag string, n int) []string {
	pw := make([]string, n)
	for i := range pw {
		pw[i] = fmt.Sprintf("%s-password-%d", tag, i)
	}
	return pw
}

func hexOf(kind Kind, password string) string {
	d := kind.Digest(password)
	return strings.ToUpper(hex.EncodeToString(d[:kind.Size()]))
}

// writeFullFile writes "HASH:COUNT" lines with CRLF endings.
func writeFullFile(t *testing.T, path string, kind Kind, passwords []string) {
	t.Helper()
	var sb strings.Builder
	for i, p := range passwords {
		fmt.Fprintf(&sb, "%s:%d\r\n", hexOf(kind, p), i%50+1)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeRangeDir writes the range layout: one file per 5-hex prefix with
// "SUFFIX:COUNT" lines, plus count-0 padding lines as the API adds.
func writeRangeDir(t *testing.T, dir string, kind Kind, passwords []string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	byPrefix := map[string][]string{}
	for i, p := range passwords {
		h := hexOf(kind, p)
		byPrefix[h[:5]] = append(byPrefix[h[:5]], fmt.Sprintf("%s:%d", h[5:], i%9+1))
	}
	for prefix, lines := range byPrefix {
		pad := strings.Repeat("0", 2*kind.Size()-5)
		lines = append(lines, pad+":0")
		if err := os.WriteFile(filepath.Join(dir, prefix+".txt"), []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func build(t *testing.T, opts BuildOptions) *BuildResult {
	t.Helper()
	if opts.Now == nil {
		opts.Now = testClock
	}
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return res
}

func open(t *testing.T, dir string) *Corpus {
	t.Helper()
	c, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// checkFalsePositives probes 100k unlisted passwords; 2^-16 gives an
// expectation of 1.5, and more than 15 would be a broken filter.
func checkFalsePositives(t *testing.T, c *Corpus) {
	t.Helper()
	fps := 0
	for i := range 100_000 {
		if c.Contains(fmt.Sprintf("never-listed-%d", i)) {
			fps++
		}
	}
	if fps > 15 {
		t.Errorf("%d false positives in 100000 unlisted passwords (expected about 1.5)", fps)
	}
}

func TestBuildAndCheck(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		layout string // "full" or "range"
		shards int
	}{
		{"sha1 full file", SHA1, "full", 16},
		{"sha1 range layout", SHA1, "range", 4},
		{"ntlm full file", NTLM, "full", 0},
		{"ntlm range layout", NTLM, "range", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmp := t.TempDir()
			pw := testPasswords(tt.name, 3000)
			input := filepath.Join(tmp, "input")
			if tt.layout == "full" {
				input += ".txt"
				writeFullFile(t, input, tt.kind, pw)
			} else {
				writeRangeDir(t, input, tt.kind, pw)
			}
			out := filepath.Join(tmp, "corpus")
			res := build(t, BuildOptions{Inputs: []string{input}, Kind: tt.kind, Out: out, Shards: tt.shards})
			if res.Keys != uint64(len(pw)) || res.MalformedLines != 0 {
				t.Fatalf("result %+v", res)
			}
			wantShards := max(tt.shards, 1)
			if res.Shards != wantShards {
				t.Errorf("shards = %d, want %d", res.Shards, wantShards)
			}
			c := open(t, out)
			if c.Kind() != tt.kind {
				t.Errorf("kind = %v", c.Kind())
			}
			for _, p := range pw {
				if !c.Contains(p) {
					t.Fatalf("listed password %q not found", p)
				}
			}
			checkFalsePositives(t, c)
			st := c.Stats()
			if st.Keys != uint64(len(pw)) || st.Shards != wantShards || !st.ChecksumsVerified || !st.BuiltAt.Equal(testClock()) {
				t.Errorf("stats %+v", st)
			}
			// Temporary files are gone; only the corpus is left.
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind %s", e.Name())
				}
			}
		})
	}
}

func TestBuildDeduplicatesAndIsReproducible(t *testing.T) {
	tmp := t.TempDir()
	pw := testPasswords("dup", 2000)
	a := filepath.Join(tmp, "a.txt")
	writeFullFile(t, a, SHA1, pw)
	b := filepath.Join(tmp, "b.txt")
	writeFullFile(t, b, SHA1, pw[:500]) // 500 repeats
	out1, out2 := filepath.Join(tmp, "c1"), filepath.Join(tmp, "c2")
	res := build(t, BuildOptions{Inputs: []string{a, b}, Out: out1, Shards: 2, Source: "test"})
	if res.Keys != 2000 || res.Duplicates != 500 {
		t.Fatalf("keys %d duplicates %d, want 2000 and 500", res.Keys, res.Duplicates)
	}
	build(t, BuildOptions{Inputs: []string{a, b}, Out: out2, Shards: 2, Source: "test"})
	m1, _ := os.ReadFile(filepath.Join(out1, manifestName))
	m2, _ := os.ReadFile(filepath.Join(out2, manifestName))
	// Identical apart from the build duration.
	strip := func(b []byte) string {
		var keep []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.Contains(l, "build_seconds") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(m1) != strip(m2) {
		t.Error("two builds of the same input differ")
	}
}

func TestBuildMinCount(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in.txt")
	lines := fmt.Sprintf("%s:1\n%s:5\n%s:0\n", hexOf(SHA1, "rare"), hexOf(SHA1, "common"), hexOf(SHA1, "padding"))
	os.WriteFile(in, []byte(lines), 0o644)
	out := filepath.Join(tmp, "c")
	res := build(t, BuildOptions{Inputs: []string{in}, Out: out, MinCount: 2})
	if res.Keys != 1 || res.SkippedLines != 2 {
		t.Fatalf("result %+v", res)
	}
	c := open(t, out)
	if !c.Contains("common") {
		t.Error("common not found")
	}
}

func TestBuildMalformedLines(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in.txt")
	content := strings.Join([]string{
		hexOf(SHA1, "good1") + ":3",
		"not a hash",
		"",
		"# a comment",
		hexOf(SHA1, "good2") + ":x",
		hexOf(SHA1, "good3")[:39] + ":1",
		hexOf(SHA1, "good4"),
	}, "\n")
	os.WriteFile(in, []byte(content), 0o644)
	out := filepath.Join(tmp, "c")
	res := build(t, BuildOptions{Inputs: []string{in}, Out: out})
	if res.Keys != 2 || res.MalformedLines != 3 || res.InputLines != 7 || res.SkippedLines != 2 {
		t.Fatalf("result %+v", res)
	}
	want := []string{in + ":2:", in + ":5:", in + ":6:"}
	for i, w := range want {
		if !strings.HasPrefix(res.Malformed[i], w) {
			t.Errorf("malformed[%d] = %q, want prefix %q", i, res.Malformed[i], w)
		}
	}

	// Over the limit: the build fails and the existing corpus stays.
	before, _ := os.ReadFile(filepath.Join(out, manifestName))
	res, err := Build(context.Background(), BuildOptions{Inputs: []string{in}, Out: out, MalformedLimit: 2})
	var me *MalformedError
	if !errors.As(err, &me) || me.Lines != 3 || res == nil || len(res.Malformed) != 3 {
		t.Fatalf("err = %v, result %+v", err, res)
	}
	after, _ := os.ReadFile(filepath.Join(out, manifestName))
	if string(before) != string(after) {
		t.Error("a failed build changed the corpus")
	}
	entries, _ := os.ReadDir(tmp)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestBuildRefusesToReplaceOtherDirectories(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in.txt")
	writeFullFile(t, in, SHA1, []string{"x"})
	out := filepath.Join(tmp, "precious")
	os.Mkdir(out, 0o755)
	os.WriteFile(filepath.Join(out, "thesis.tex"), []byte("..."), 0o644)
	_, err := Build(context.Background(), BuildOptions{Inputs: []string{in}, Out: out})
	if err == nil || !strings.Contains(err.Error(), "refusing to replace") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "thesis.tex")); err != nil {
		t.Fatal(err)
	}
}

func TestBuildOptionsChecked(t *testing.T) {
	tmp := t.TempDir()
	for _, opts := range []BuildOptions{
		{Out: filepath.Join(tmp, "c"), Shards: 3},
		{Out: filepath.Join(tmp, "c"), Shards: MaxShards * 2},
		{Out: filepath.Join(tmp, "c"), Kind: 9},
		{},
	} {
		if _, err := NewBuilder(opts); err == nil {
			t.Errorf("NewBuilder(%+v) succeeded", opts)
		}
	}
	b, err := NewBuilder(BuildOptions{Out: filepath.Join(tmp, "c")})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Abort()
	if err := b.Add(make([]byte, 16)); err == nil {
		t.Error("Add accepted a 16-byte hash for SHA1")
	}
}

func TestBuilderAddAndAutoShards(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 2.2 million keys")
	}
	tmp := t.TempDir()
	out := filepath.Join(tmp, "c")
	b, err := NewBuilder(BuildOptions{Out: out, Now: testClock})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 2*AutoShardKeys + 1000
	var d [20]byte
	var kept [][20]byte
	for i := range n {
		for j := range d {
			d[j] = byte(rng.Uint32())
		}
		if i%1000 == 0 {
			kept = append(kept, d)
		}
		if err := b.Add(d[:]); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Shards != 2 || res.Keys != n {
		t.Fatalf("result %+v", res)
	}
	c := open(t, out)
	for _, d := range kept {
		if !c.ContainsHash(d) {
			t.Fatal("added hash not found")
		}
	}
	if bpk := c.Stats().BitsPerKey; bpk > 18.5 {
		t.Errorf("%.2f bits per key", bpk)
	}
}

func TestChooseShardBits(t *testing.T) {
	tests := []struct {
		requested int
		keys      uint64
		want      uint
	}{
		{0, 0, 0},
		{0, AutoShardKeys*2 - 1, 0},
		{0, AutoShardKeys * 2, 1},
		{0, 100_000_000, 6},
		{0, 1 << 40, autoMaxShardBits},
		{256, 10, 8},
		{1, 1 << 40, 0},
	}
	for _, tt := range tests {
		if got := chooseShardBits(tt.requested, tt.keys); got != tt.want {
			t.Errorf("chooseShardBits(%d, %d) = %d, want %d", tt.requested, tt.keys, got, tt.want)
		}
	}
}
