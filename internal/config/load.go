package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Load reads, decodes, overrides from the environment and validates the
// configuration file at path. On failure the error is a *Problems listing
// everything wrong, each with its key path. Every SSPR_* variable of the
// process environment that names no setting is a problem too.
func Load(path string) (*Config, error) {
	r, err := Read(path, os.Environ())
	if err != nil {
		return nil, err
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return r.Config, nil
}

// Report is the outcome of reading a configuration: the configuration as
// far as it could be read, every problem and every warning. `sspr config
// check` prints it whole; Load turns problems into an error.
type Report struct {
	// Config is the decoded configuration; with problems it is only as good
	// as the file (nil when the file is not YAML at all).
	Config *Config
	// Problems make the configuration unusable.
	Problems []Problem
	// Warnings are settings that work but should be reconsidered.
	Warnings []Problem
}

// Err returns the problems as a *Problems error, or nil when there are none.
func (r *Report) Err() error {
	return (&Problems{List: r.Problems}).errOrNil()
}

// Read reads the file at path like Load, with environ ("KEY=value" pairs,
// as from os.Environ) as the environment, and reports problems and warnings
// side by side. The error is only for a file that cannot be read.
func Read(path string, environ []string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading configuration %s: %w", path, plainErr(err))
	}
	return ParseEnviron(data, environ), nil
}

// ParseEnviron is Read on bytes.
func ParseEnviron(data []byte, environ []string) *Report {
	vars := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, envPrefix) {
			vars[k] = v
		}
	}
	consulted := map[string]bool{}
	lookup := func(name string) (string, bool) {
		consulted[name] = true
		v, ok := vars[name]
		return v, ok
	}
	cfg, problems := parse(data, lookup)
	if cfg != nil {
		problems.List = append(problems.List, unknownEnv(vars, consulted)...)
	}
	r := &Report{Config: cfg, Problems: problems.List}
	if cfg != nil {
		r.Warnings = cfg.Warnings()
	}
	return r
}

// Parse is Load on bytes, with the environment given as a lookup function so
// tests do not depend on the process environment. A lookup function cannot
// list the variables, so misspelt ones are found only by Load and Read.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg, problems := parse(data, lookupEnv)
	if err := problems.errOrNil(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, *Problems) {
	cfg := Defaults()
	problems := &Problems{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		problems.add("", "the file is not valid YAML: "+strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, problems
	}
	(&decoder{problems: problems}).decode(&root, reflect.ValueOf(&cfg).Elem(), "")
	if lookupEnv != nil {
		applyEnv(reflect.ValueOf(&cfg).Elem(), "", lookupEnv, problems)
	}
	resolveSecrets(reflect.ValueOf(&cfg).Elem(), "", problems, cfg.inactive)
	for i := range cfg.Directories {
		directoryDefaults(&cfg.Directories[i])
	}
	cfg.validate(problems)
	return &cfg, problems
}

// envPrefix starts every environment override. SSPR_TEST_ is left to the
// test suite (it describes the test directories), so it is never taken
// for a misspelt setting.
const (
	envPrefix     = "SSPR_"
	envTestPrefix = "SSPR_TEST_"
)

// unknownEnv reports every SSPR_* variable that no setting consulted: a
// misspelt override would otherwise be ignored without a word, and the
// instance would run with the file's value.
func unknownEnv(vars map[string]string, consulted map[string]bool) []Problem {
	known := make([]string, 0, len(consulted))
	for k := range consulted {
		known = append(known, k)
	}
	slices.Sort(known)
	var out []Problem
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		if consulted[name] || strings.HasPrefix(name, envTestPrefix) {
			continue
		}
		msg := "this environment variable matches no setting and would be ignored"
		if best := Closest(name, known, max(3, len(name)/6)); best != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", best)
		} else if strings.Contains(name, "_DIRECTORIES_") {
			msg += " (list elements can only be overridden where the file has them)"
		}
		out = append(out, Problem{Path: name, Message: msg})
	}
	return out
}

// inactive tells the secrets of settings that are switched off: the
// secrets of an SMS provider other than the configured one, and the SMTP
// password when no SMTP user is set. Their files need not exist.
func (c *Config) inactive(path string) bool {
	switch path {
	case "sms.twilio":
		return c.SMS.Provider != "twilio"
	case "sms.webhook":
		return c.SMS.Provider != "webhook"
	case "mail.smtp.password":
		return c.Mail.SMTP.Username == ""
	}
	return c.inactiveEnterpriseFactor(path)
}

// plainErr drops the "open PATH:" prefix of a file error, for messages that
// name the path themselves.
func plainErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// envName turns a key path into its environment variable:
// directories[0].bind_password -> SSPR_DIRECTORIES_0_BIND_PASSWORD.
func envName(path string) string {
	r := strings.NewReplacer(".", "_", "[", "_", "]", "")
	return envPrefix + strings.ToUpper(r.Replace(path))
}

// applyEnv overrides every scalar setting that has an SSPR_* variable.
// List elements can be overridden only where the file has them, because an
// environment cannot say how long a list should be.
func applyEnv(v reflect.Value, path string, lookup func(string) (string, bool), problems *Problems) {
	switch {
	case v.Type() == secretType:
		s := v.Addr().Interface().(*Secret)
		if val, ok := lookup(envName(path)); ok {
			s.Value, s.File = val, ""
		}
		if val, ok := lookup(envName(path) + "_FILE"); ok {
			s.File, s.Value = val, ""
		}
		return
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		for i := 0; i < v.NumField(); i++ {
			if key := yamlKey(v.Type().Field(i)); key != "" {
				applyEnv(v.Field(i), join(path, key), lookup, problems)
			}
		}
		return
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		for i := 0; i < v.Len(); i++ {
			applyEnv(v.Index(i), fmt.Sprintf("%s[%d]", path, i), lookup, problems)
		}
		return
	}
	name := envName(path)
	val, ok := lookup(name)
	if !ok {
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		applyEnv(v.Elem(), path, lookup, problems)
		return
	}
	bad := func(what string) { problems.addf(path, "environment variable %s: %q is not %s", name, val, what) }
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(val)
		if err != nil {
			bad("a duration")
			return
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(val)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(&yaml.Node{Kind: yaml.ScalarNode, Value: val})
		if !ok {
			var err error
			if b, err = strconv.ParseBool(val); err != nil {
				bad("true or false")
				return
			}
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil {
			bad("a whole number")
			return
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for _, item := range strings.Split(val, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	}
}

// resolveSecrets reads every Secret given as a file, except under the
// paths skip says are switched off.
func resolveSecrets(v reflect.Value, path string, problems *Problems, skip func(string) bool) {
	if path != "" && skip(path) {
		return
	}
	switch {
	case v.Type() == secretType:
		s := v.Addr().Interface().(*Secret)
		if s.File == "" {
			return
		}
		if s.Value != "" {
			problems.add(path, "is given both inline and as "+path[strings.LastIndex(path, ".")+1:]+"_file: keep one")
			return
		}
		data, err := os.ReadFile(s.File)
		if err != nil {
			problems.addf(path+"_file", "cannot read the secret file %s: %v", s.File, plainErr(err))
			return
		}
		s.Value = strings.TrimRight(string(data), "\r\n")
		if s.Value == "" {
			problems.addf(path+"_file", "%s is empty", s.File)
		}
	case v.Kind() == reflect.Struct && v.Type() != durationType:
		for i := 0; i < v.NumField(); i++ {
			if key := yamlKey(v.Type().Field(i)); key != "" {
				resolveSecrets(v.Field(i), join(path, key), problems, skip)
			}
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		for i := 0; i < v.Len(); i++ {
			resolveSecrets(v.Index(i), fmt.Sprintf("%s[%d]", path, i), problems, skip)
		}
	}
}

// HMACKeyBytes decodes secrets.hmac_key (validated by Load).
func (c *Config) HMACKeyBytes() []byte {
	b, _ := decodeKey(c.Secrets.HMACKey.Value)
	return b
}

func decodeKey(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}
