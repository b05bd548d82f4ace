package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	durationType = reflect.TypeOf(time.Duration(0))
	secretType   = reflect.TypeOf(Secret{})
)

// decoder walks a YAML node tree into a Go value by reflection, collecting
// every problem with its key path instead of stopping at the first.
type decoder struct {
	problems *Problems
}

func (d *decoder) decode(node *yaml.Node, v reflect.Value, path string) {
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return
		}
		node = node.Content[0]
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return // an empty key keeps its default
	}
	switch {
	case v.Type() == durationType:
		if node.Kind != yaml.ScalarNode {
			d.problems.add(path, "must be a duration such as 30s or 10m")
			return
		}
		dur, err := time.ParseDuration(node.Value)
		if err != nil || dur < 0 {
			d.problems.add(path, fmt.Sprintf("%q is not a duration; write it like 30s, 10m or 1h", node.Value))
			return
		}
		v.SetInt(int64(dur))
		return
	case v.Type() == secretType:
		if node.Kind != yaml.ScalarNode {
			d.problems.add(path, "must be a string")
			return
		}
		v.Addr().Interface().(*Secret).Value = node.Value
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		// A pointer marks an optional override: nil keeps the default.
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(node, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(node, v, path)
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			d.problems.add(path, "must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(node.Content), len(node.Content))
		for i, item := range node.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.String:
		if node.Kind != yaml.ScalarNode {
			d.problems.add(path, "must be a string")
			return
		}
		v.SetString(node.Value)
	case reflect.Bool:
		b, ok := parseBool(node)
		if !ok {
			d.problems.add(path, fmt.Sprintf("%q is not true or false", node.Value))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		if node.Kind != yaml.ScalarNode {
			d.problems.add(path, "must be a whole number")
			return
		}
		n, err := strconv.Atoi(node.Value)
		if err != nil {
			d.problems.add(path, fmt.Sprintf("%q is not a whole number", node.Value))
			return
		}
		v.SetInt(int64(n))
	default:
		d.problems.add(path, "unsupported setting type "+v.Type().String())
	}
}

func (d *decoder) decodeStruct(node *yaml.Node, v reflect.Value, path string) {
	if node.Kind != yaml.MappingNode {
		d.problems.add(path, "must be a mapping of keys to values")
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(node.Content); i += 2 {
		key, val := node.Content[i].Value, node.Content[i+1]
		kp := join(path, key)
		if seen[key] {
			d.problems.add(kp, "is given twice")
			continue
		}
		seen[key] = true
		if idx, ok := fields[key]; ok {
			d.decode(val, v.Field(idx), kp)
			continue
		}
		// "<secret>_file" reads a secret from a file.
		if base, ok := strings.CutSuffix(key, "_file"); ok {
			if idx, ok := fields[base]; ok && v.Field(idx).Type() == secretType {
				if val.Kind != yaml.ScalarNode {
					d.problems.add(kp, "must be a file path")
					continue
				}
				v.Field(idx).Addr().Interface().(*Secret).File = val.Value
				continue
			}
		}
		d.problems.add(kp, "is not a known setting"+suggest(key, withFileKeys(v.Type(), fields)))
	}
}

func parseBool(node *yaml.Node) (bool, bool) {
	if node.Kind != yaml.ScalarNode {
		return false, false
	}
	switch strings.ToLower(node.Value) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// structFields maps yaml keys to field indexes.
func structFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		if tag := yamlKey(t.Field(i)); tag != "" {
			m[tag] = i
		}
	}
	return m
}

func yamlKey(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" {
		return ""
	}
	return tag
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// withFileKeys adds the "<secret>_file" spellings to the known keys, so a
// typo in one gets a suggestion too.
func withFileKeys(t reflect.Type, fields map[string]int) map[string]int {
	out := make(map[string]int, len(fields))
	for k, i := range fields {
		out[k] = i
		if t.Field(i).Type == secretType {
			out[k+"_file"] = i
		}
	}
	return out
}

// suggest names the closest known key, for typos like "base_dn" vs "basedn".
func suggest(key string, fields map[string]int) string {
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	if best := Closest(key, known, 2); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Closest returns the candidate nearest to s within maxDist edits (ties go
// to the alphabetically first), or "": the "did you mean" of config keys,
// and of the CLI's flags.
func Closest(s string, candidates []string, maxDist int) string {
	best, bestDist := "", maxDist+1
	for _, c := range candidates {
		if dist := editDistance(s, c); dist < bestDist || (dist == bestDist && best != "" && c < best) {
			best, bestDist = c, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
