package config

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// CostPerCall values one help-desk call, for the "help-desk calls avoided"
// report (admin.cost_per_call): each successful self-service reset, unlock
// or change is a call the help desk did not take.
type CostPerCall struct {
	// Amount is a decimal number such as 22.50 (default 0: the report then
	// counts calls and shows no money).
	Amount string `yaml:"amount"`
	// Currency is an ISO 4217 code such as EUR or USD.
	Currency string `yaml:"currency"`
}

// Redacted is how the effective configuration shows a secret that is set.
const Redacted = "[redacted]"

// Setting is one effective setting as the console shows it.
type Setting struct {
	// Key is the setting's path ("admin.idle_timeout", "directories[0].url").
	Key string
	// Value is the value as YAML would spell it; a secret's is Redacted.
	Value string
	// Secret marks a value that is never shown. Fingerprint then tells
	// two values apart without revealing either (see Changes).
	Secret bool
	// raw is what a secret or a redacted string really holds, for
	// TakeSnapshot's HMAC; never shown.
	raw string
}

// secretQuery are URL query parameters whose values are credentials
// (a webhook's ?token=...).
var secretQuery = regexp.MustCompile(`(?i)(token|key|secret|password|passwd|pwd|sig|signature|auth|credential)`)

// redactString hides the credentials a plain string may hold: a URL's
// password and secret-looking query parameters.
func redactString(s string) (string, bool) {
	if !strings.Contains(s, "://") {
		return s, false
	}
	u, err := url.Parse(s)
	if err != nil {
		// Cannot tell where a credential would be: hide it all.
		return Redacted, true
	}
	changed := false
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretQuery.MatchString(k) {
				q[k] = []string{"xxxxx"}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s, false
	}
	return strings.ReplaceAll(u.String(), "xxxxx", Redacted), true
}

// Settings lists every setting of c, in the file's order, with every
// secret hidden: config.Secret values (also when read from a *_file) and
// credentials inside URLs. It walks the Config type by reflection, so a
// setting added later is listed (and a new Secret hidden) without a
// change here.
func Settings(c *Config) []Setting {
	var out []Setting
	walkSettings(reflect.ValueOf(c).Elem(), "", &out)
	return out
}

func walkSettings(v reflect.Value, path string, out *[]Setting) {
	switch {
	case v.Type() == secretType:
		s := v.Interface().(Secret)
		set := Setting{Key: path, Secret: true, raw: s.Value}
		if s.Value != "" {
			set.Value = Redacted
		}
		*out = append(*out, set)
		if s.File != "" {
			*out = append(*out, Setting{Key: path + "_file", Value: s.File})
		}
		return
	case v.Type() == durationType:
		*out = append(*out, Setting{Key: path, Value: time.Duration(v.Int()).String()})
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		walkSettings(v.Elem(), path, out)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			key := yamlKey(f)
			if !f.IsExported() || key == "" {
				continue
			}
			walkSettings(v.Field(i), join(path, key), out)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct || v.Type().Elem() == secretType {
			for i := 0; i < v.Len(); i++ {
				walkSettings(v.Index(i), fmt.Sprintf("%s[%d]", path, i), out)
			}
			return
		}
		items := make([]string, v.Len())
		secret := false
		for i := range items {
			s, hid := redactString(fmt.Sprint(v.Index(i).Interface()))
			items[i], secret = strconv.Quote(s), secret || hid
		}
		*out = append(*out, Setting{Key: path, Value: "[" + strings.Join(items, ", ") + "]", Secret: secret,
			raw: fmt.Sprint(v.Interface())})
	case reflect.String:
		s, hid := redactString(v.String())
		*out = append(*out, Setting{Key: path, Value: s, Secret: hid, raw: v.String()})
	default:
		*out = append(*out, Setting{Key: path, Value: fmt.Sprint(v.Interface())})
	}
}

// EffectiveYAML is c as YAML, every secret hidden as Settings hides it.
// Empty strings and lists are left out, so the page shows what is set.
func EffectiveYAML(c *Config) []byte {
	root := yamlNode(reflect.ValueOf(c).Elem())
	if root == nil {
		root = &yaml.Node{Kind: yaml.MappingNode}
	}
	b, err := yaml.Marshal(root)
	if err != nil {
		// A tree of plain scalars always marshals; say so if not.
		return []byte("# the configuration could not be shown: " + err.Error() + "\n")
	}
	return b
}

func scalar(s string, quoted bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: s}
	if quoted {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// yamlNode is v as a YAML node, nil when it is empty. Secrets and the
// credentials in URLs are hidden exactly as walkSettings hides them.
func yamlNode(v reflect.Value) *yaml.Node {
	switch {
	case v.Type() == secretType:
		if v.Interface().(Secret).Value == "" {
			return nil
		}
		return scalar(Redacted, true)
	case v.Type() == durationType:
		return scalar(time.Duration(v.Int()).String(), false)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return yamlNode(v.Elem())
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			key := yamlKey(f)
			if !f.IsExported() || key == "" {
				continue
			}
			if n := yamlNode(v.Field(i)); n != nil {
				m.Content = append(m.Content, scalar(key, false), n)
			}
			if f.Type == secretType {
				if file := v.Field(i).Interface().(Secret).File; file != "" {
					m.Content = append(m.Content, scalar(key+"_file", false), scalar(file, false))
				}
			}
		}
		if len(m.Content) == 0 {
			return nil
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if k := v.Type().Elem().Kind(); k != reflect.Struct && k != reflect.Pointer {
			seq.Style = yaml.FlowStyle
		}
		for i := 0; i < v.Len(); i++ {
			n := yamlNode(v.Index(i))
			if n == nil {
				n = scalar("", true)
			}
			seq.Content = append(seq.Content, n)
		}
		return seq
	case reflect.String:
		if v.String() == "" {
			return nil
		}
		s, _ := redactString(v.String())
		return scalar(s, false)
	default:
		return scalar(fmt.Sprint(v.Interface()), false)
	}
}

// Change is one setting that differs between two configurations.
type Change struct {
	Key string `json:"key"`
	// Old and New are the values as Settings shows them; a secret's are
	// "changed" (its values are never recorded), an absent one's "".
	Old string `json:"old"`
	New string `json:"new"`
}

// SecretChanged stands for both sides of a secret's change.
const SecretChanged = "changed"

// SnapshotValue is one setting in a Snapshot.
type SnapshotValue struct {
	// V is the value as Settings shows it, or for a secret the hex
	// HMAC-SHA256 of its value under the snapshot's key: two values can be
	// told apart, neither can be read back, and a short secret cannot be
	// guessed from it without the key.
	V string `json:"v"`
	S bool   `json:"s,omitempty"`
}

// Snapshot is the effective configuration by key, safe to store: what a
// later start compares with (see DiffSnapshots).
type Snapshot map[string]SnapshotValue

// TakeSnapshot records c's settings, keying the secrets' HMACs with key.
func TakeSnapshot(c *Config, key []byte) Snapshot {
	out := Snapshot{}
	for _, s := range Settings(c) {
		if !s.Secret || s.raw == "" {
			out[s.Key] = SnapshotValue{V: s.Value, S: s.Secret}
			continue
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s.raw))
		out[s.Key] = SnapshotValue{V: hex.EncodeToString(m.Sum(nil)), S: true}
	}
	return out
}

// DiffSnapshots lists the settings that differ, by key. A secret is
// recorded as SecretChanged on both sides; a setting that is empty on one
// side and absent on the other is no change.
func DiffSnapshots(old, cur Snapshot) []Change {
	var out []Change
	for k, n := range cur {
		o, ok := old[k]
		switch {
		case ok && o == n:
		case !ok && n.V == "":
		case n.S || o.S:
			out = append(out, Change{Key: k, Old: SecretChanged, New: SecretChanged})
		default:
			out = append(out, Change{Key: k, Old: o.V, New: n.V})
		}
	}
	for k, o := range old {
		if _, ok := cur[k]; ok || o.V == "" {
			continue
		}
		c := Change{Key: k, Old: o.V}
		if o.S {
			c.Old, c.New = SecretChanged, SecretChanged
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Changes lists the settings that differ between old and cur (both in
// memory: the secrets' HMACs use a key made for this comparison only).
func Changes(old, cur *Config) []Change {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return DiffSnapshots(TakeSnapshot(old, key), TakeSnapshot(cur, key))
}
