package secrets

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// currentMarker ends the line of the current key when it is not the highest
// version.
const currentMarker = "current"

// LoadKeyRing reads a keyring file (see the package documentation).
// Errors name the file and the line.
func LoadKeyRing(path string) (*KeyRing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secrets: keyring: %w", err)
	}
	defer f.Close()
	r, err := ParseKeyRing(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseKeyRing reads the keyring file format from r.
func ParseKeyRing(r io.Reader) (*KeyRing, error) {
	var (
		keys    []Key
		marked  uint32
		hasMark bool
		seen    = map[uint32]int{}
	)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		vs, rest, ok := strings.Cut(text, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: want VERSION:BASE64KEY", line)
		}
		v, err := strconv.ParseUint(strings.TrimSpace(vs), 10, 32)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("line %d: version %q is not a number from 1 to %d", line, vs, uint32(1<<32-1))
		}
		version := uint32(v)
		if prev, dup := seen[version]; dup {
			return nil, fmt.Errorf("line %d: version %d already given on line %d", line, version, prev)
		}
		seen[version] = line
		fields := strings.Fields(rest)
		switch {
		case len(fields) == 2 && fields[1] == currentMarker:
			if hasMark {
				return nil, fmt.Errorf("line %d: a second key is marked %q (version %d already is)", line, currentMarker, marked)
			}
			marked, hasMark = version, true
		case len(fields) != 1:
			return nil, fmt.Errorf("line %d: version %d: want one base64 key, optionally followed by %q", line, version, currentMarker)
		}
		secret, err := base64.StdEncoding.DecodeString(fields[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: version %d: key is not standard base64: %v", line, version, err)
		}
		if len(secret) != KeySize {
			return nil, fmt.Errorf("line %d: version %d: key is %d bytes, want %d", line, version, len(secret), KeySize)
		}
		keys = append(keys, Key{Version: version, Secret: secret})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	current := marked
	if !hasMark {
		for _, k := range keys {
			current = max(current, k.Version)
		}
	}
	return NewKeyRing(current, keys...)
}

// MarshalText writes r in the keyring file format.
func (r *KeyRing) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# sspr keyring: VERSION:BASE64KEY per line; the highest version is current\n")
	b.WriteString("# unless a line ends with \" current\". Keep this file secret (mode 0600).\n")
	vs := r.Versions()
	highest := vs[len(vs)-1]
	for _, v := range vs {
		fmt.Fprintf(&b, "%d:%s", v, base64.StdEncoding.EncodeToString(r.keys[v]))
		if v == r.current && v != highest {
			b.WriteString(" " + currentMarker)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// WriteKeyRingFile writes r to path with mode 0600. Unless replace is set it
// refuses to overwrite an existing file (losing a key loses the data sealed
// with it). A replacement is written to a temporary file in the same
// directory and renamed over path, so a crash leaves the old or the new
// file, never half of one.
func WriteKeyRingFile(path string, r *KeyRing, replace bool) error {
	data, err := r.MarshalText()
	if err != nil {
		return err
	}
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("secrets: keyring: %w", err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("secrets: keyring: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("secrets: keyring: %w", err)
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("secrets: keyring: %w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("secrets: keyring: %w", err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return fmt.Errorf("secrets: keyring: %w", err)
	}
	return nil
}

// CheckKeyRingMode returns an error when the keyring file at path can be
// read or written by users other than its owner (a start-up check should
// warn about it; LoadKeyRing does not refuse such files because some secret
// stores mount them group-readable).
func CheckKeyRingMode(path string) error {
	return CheckPrivateFile(path, "keyring")
}

// CheckPrivateFile returns an error naming what the file is when users
// other than its owner can read or write it. Key files should be 0600 (or
// 0400).
func CheckPrivateFile(path, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("secrets: %s: %w", what, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("secrets: %s %s has mode %04o: others than its owner can access it (want 0600)", what, path, perm)
	}
	return nil
}
