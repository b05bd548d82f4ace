package archtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sspr/sspr/"

// layer orders the packages; a package may import its own layer or lower.
type layer int

const (
	testSupport layer = iota // test helpers: only tests may import them
	platform                 // config, secrets
	interfaces               // the small interface packages adapters implement
	adapter                  // directories, store, mail, SMS providers
	domain                   // factors, password rules, abuse, audit, notices
	flows                    // the flows
	face                     // CLI, portal, JSON API
	wiring                   // internal/app: config in, components out; imports any layer, imported by faces only
)

var layerNames = map[layer]string{testSupport: "test support", platform: "platform", interfaces: "interfaces",
	adapter: "adapter", domain: "domain", flows: "flow", wiring: "wiring (app)", face: "face"}

// layers maps package paths (relative to the module) to their layer; the
// longest matching prefix wins ("x/" matches x's sub-packages, "x" only
// x itself). A new package must be placed here, and in
// docs/architecture.md.
var layers = map[string]layer{
	"cmd/":                                   face,
	"cmd/sspr-load":                          testSupport, // a measuring tool: drives a server from outside, like a test
	"internal/agent":                         face,        // the login-screen face (speaks only the JSON API)
	"internal/api":                           face,
	"internal/web":                           face, // helpers for the portal and the API
	"internal/web/":                          face,
	"internal/app":                           wiring,
	"internal/flow":                          flows,
	"internal/flow/record":                   interfaces, // the flows' record types and persister, which the store implements
	"internal/jobs":                          flows,      // the scheduled-job runner (leases in the store)
	"internal/jobs/cron":                     platform,   // cron expressions, shared with config
	"internal/factor":                        domain,
	"internal/factor/":                       domain,
	"internal/password":                      domain,
	"internal/password/":                     domain,
	"internal/abuse":                         domain,
	"internal/policy":                        domain,      // policies by population
	"internal/access":                        domain,      // conditional access
	"internal/access/when":                   platform,    // its condition parsers, shared with config
	"internal/access/mmdbtest":               testSupport, // writes MaxMind-format test databases
	"internal/store/storetest":               testSupport, // runs store tests on SQLite and PostgreSQL
	"internal/audit":                         domain,
	"internal/notify":                        domain,
	"internal/forward":                       domain,     // audit events to webhooks, syslog (SIEM), files
	"internal/sync":                          domain,     // planner and outbox sender of password sync
	"internal/sync/":                         adapter,    // sync targets (entra, google, ldap, hook)
	"internal/sync/target":                   interfaces, // what targets and the planner share
	"internal/sync/entra/graphtest":          testSupport,
	"internal/sync/google/googletest":        testSupport,
	"internal/i18n":                          domain,
	"internal/directory":                     interfaces, // interfaces, typed errors, login routing
	"internal/sms":                           interfaces, // the Sender interface and its errors
	"internal/directory/":                    adapter,
	"internal/directory/entra":               adapter, // Entra ID through Graph (cloud-only accounts)
	"internal/store":                         adapter,
	"internal/mail":                          adapter,
	"internal/mailsink":                      adapter,
	"internal/metrics":                       adapter, // Prometheus instrumentation (the official client)
	"internal/sms/":                          adapter,
	"internal/config":                        platform,
	"internal/brand":                         platform, // branding checks and the generated stylesheet, shared with config
	"internal/secrets":                       platform,
	"internal/testenv/":                      testSupport,
	"internal/e2e":                           testSupport,
	"internal/archtest":                      testSupport,
	"packaging":                              testSupport, // tests that build and install the packages
	"deploy/ansible":                         testSupport, // tests of the Ansible example's YAML
	"internal/directory/ldapdir/ldapdirtest": testSupport,
	"internal/sms/smstest":                   testSupport,
	"internal/factor/duo/duotest":            testSupport,
	"internal/factor/yubikey/yubikeytest":    testSupport,
	"internal/factor/voice/voicetest":        testSupport,
}

// exceptions are imports that break the rules today, each with why. The
// test fails when one of them no longer happens, so the list only shrinks:
// delete the line when the import is gone.
var exceptions = map[string]string{}

func layerOf(pkg string) (layer, bool) {
	best, found := "", false
	var l layer
	for prefix, pl := range layers {
		match := pkg == prefix || (strings.HasSuffix(prefix, "/") && strings.HasPrefix(pkg, prefix))
		if match && len(prefix) > len(best) {
			best, l, found = prefix, pl, true
		}
	}
	return l, found
}

type pkgInfo struct {
	ImportPath string
	Imports    []string
}

// modulePackages lists the module's packages with their non-test imports.
func modulePackages(t *testing.T) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", "./...")
	cmd.Dir = "../.."
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errOut.String())
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 20 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// TestLayers: imports point down only, faces reach adapters only through
// app, and only faces use app. (Domain packages may use adapters below
// them, as the store's record types; faces may not.)
func TestLayers(t *testing.T) {
	t.Parallel()
	used := map[string]bool{}
	var violations []string
	for _, p := range modulePackages(t) {
		from := strings.TrimPrefix(p.ImportPath, module)
		fl, ok := layerOf(from)
		if !ok {
			t.Errorf("package %s has no layer: add it to layers in this test and to docs/architecture.md", from)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := strings.TrimPrefix(imp, module)
			tl, ok := layerOf(to)
			if !ok {
				continue // reported as the importing package of its own
			}
			var why string
			switch {
			case fl == testSupport, fl == wiring:
				// test helpers may use anything; app wires every layer,
				// faces included (it builds the HTTP handler)
			case tl == testSupport:
				why = "imports test support outside tests"
			case fl == face && tl == adapter:
				why = "a face imports an adapter: go through internal/app and the flows"
			case tl == wiring:
				if fl != face {
					why = "only faces use internal/app"
				}
			case tl > fl:
				why = fmt.Sprintf("a %s imports a %s (imports point down only)", layerNames[fl], layerNames[tl])
			}
			if why == "" {
				continue
			}
			edge := from + " -> " + to
			if _, ok := exceptions[edge]; ok {
				used[edge] = true
				continue
			}
			violations = append(violations, edge+": "+why)
		}
	}
	slices.Sort(violations)
	for _, v := range violations {
		t.Error(v)
	}
	for edge, why := range exceptions {
		if !used[edge] {
			t.Errorf("exception %q (%s) no longer happens: delete it from the list", edge, why)
		}
	}
}

// TestLayerMap: the map itself says what the design says.
func TestLayerMap(t *testing.T) {
	t.Parallel()
	for pkg, want := range map[string]layer{
		"cmd/sspr": face, "internal/web/portal": face, "internal/api": face,
		"internal/directory": interfaces, "internal/directory/ad": adapter, "internal/directory/demo": adapter,
		"internal/sms/twilio": adapter, "internal/factor/sms": domain, "internal/store": adapter,
		"internal/testenv/dirtest": testSupport, "internal/config": platform,
	} {
		if got, ok := layerOf(pkg); !ok || got != want {
			t.Errorf("layerOf(%s) = %v, %v; want %s", pkg, layerNames[got], ok, layerNames[want])
		}
	}
}
