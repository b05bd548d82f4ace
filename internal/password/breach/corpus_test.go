package breach

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallCorpus builds a 4-shard SHA-1 corpus of 2000 passwords.
func smallCorpus(t *testing.T) (dir string, pw []string) {
	t.Helper()
	tmp := t.TempDir()
	pw = testPasswords("small", 2000)
	in := filepath.Join(tmp, "in.txt")
	writeFullFile(t, in, SHA1, pw)
	dir = filepath.Join(tmp, "corpus")
	build(t, BuildOptions{Inputs: []string{in}, Out: dir, Shards: 4})
	return dir, pw
}

func TestOpenMissing(t *testing.T) {
	tmp := t.TempDir()
	for _, dir := range []string{filepath.Join(tmp, "nope"), tmp} {
		_, err := Open(dir)
		if !errors.Is(err, ErrNoCorpus) {
			t.Errorf("Open(%s) = %v, want ErrNoCorpus", dir, err)
		}
	}
}

func TestOpenDetectsCorruption(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		shard  int
		reason string
	}{
		{"flipped byte in fingerprints", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "shard-03.bf16"), headerSize+100)
		}, 3, "checksum mismatch"},
		{"flipped byte in header", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "shard-01.bf16"), 30)
		}, 1, "checksum mismatch"},
		{"truncated shard", func(t *testing.T, dir string) {
			path := filepath.Join(dir, "shard-02.bf16")
			fi, _ := os.Stat(path)
			if err := os.Truncate(path, fi.Size()-7); err != nil {
				t.Fatal(err)
			}
		}, 2, "truncated"},
		{"extended shard", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "shard-00.bf16"), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0, 0})
			f.Close()
		}, 0, "size"},
		{"missing shard", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "shard-01.bf16"))
		}, 1, "missing"},
		{"manifest checksum edited", func(t *testing.T, dir string) {
			path := filepath.Join(dir, manifestName)
			b, _ := os.ReadFile(path)
			i := strings.Index(string(b), `"sha256": "`) + len(`"sha256": "`)
			if b[i] == '0' {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
			os.WriteFile(path, b, 0o644)
		}, 0, "checksum mismatch"},
		{"manifest garbage", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, manifestName), []byte("{not json"), 0o644)
		}, -1, "invalid character"},
		{"manifest key count edited", func(t *testing.T, dir string) {
			path := filepath.Join(dir, manifestName)
			b, _ := os.ReadFile(path)
			s := strings.Replace(string(b), `"keys": 2000`, `"keys": 2001`, 1)
			os.WriteFile(path, []byte(s), 0o644)
		}, -1, "shards hold 2000 keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := smallCorpus(t)
			tt.damage(t, dir)
			c, err := Open(dir)
			if err == nil {
				c.Close()
				t.Fatal("Open succeeded on a damaged corpus")
			}
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *CorruptError", err, err)
			}
			if ce.Shard != tt.shard || !strings.Contains(ce.Reason, tt.reason) {
				t.Errorf("err = %v, want shard %d and %q", err, tt.shard, tt.reason)
			}
			if errors.Is(err, ErrNoCorpus) {
				t.Error("a corrupt corpus reported as missing")
			}
		})
	}
}

func TestCorruptErrorMessage(t *testing.T) {
	err := &CorruptError{Dir: "/srv/breach", Shard: 0x3f, Reason: "checksum mismatch"}
	if got, want := err.Error(), "breach corpus /srv/breach: shard 0x3f: checksum mismatch"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestClosedCorpusNeverReadsUnmappedMemory(t *testing.T) {
	dir, pw := smallCorpus(t)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	defer func() {
		if recover() == nil {
			t.Error("lookup on a closed corpus did not panic")
		}
	}()
	c.Contains(pw[0])
}

func TestContainsHashesMatchesContainsHash(t *testing.T) {
	dir, pw := smallCorpus(t)
	c := open(t, dir)
	var digests [][20]byte
	for i, p := range pw {
		digests = append(digests, SHA1.Digest(p), SHA1.Digest(p+"-absent"))
		if i == 36 {
			break
		}
	}
	found := make([]bool, len(digests))
	c.ContainsHashes(digests, found)
	for i, d := range digests {
		if found[i] != c.ContainsHash(d) {
			t.Errorf("digest %d: batch says %v, single lookup says %v", i, found[i], !found[i])
		}
		if i%2 == 0 && !found[i] {
			t.Errorf("listed digest %d not found", i)
		}
	}
}
