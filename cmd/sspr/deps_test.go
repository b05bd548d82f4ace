package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoUnmaintainedModules: modules replaced because they are no longer
// maintained must not come back into the binary (see
// internal/password/zxcvbn/README.md for why zxcvbn lives in the tree).
func TestNoUnmaintainedModules(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{with .Module}}{{.Path}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	modules := map[string]bool{}
	for _, m := range strings.Fields(string(out)) {
		modules[m] = true
	}
	if !modules["github.com/sspr/sspr"] {
		t.Fatalf("go list printed no module of ours:\n%s", out)
	}
	for _, m := range []string{
		"github.com/skip2/go-qrcode",     // last change 2020: boombuler/barcode draws the TOTP QR code
		"github.com/trustelem/zxcvbn",    // last change 2019: kept as internal/password/zxcvbn
		"github.com/nbutton23/zxcvbn-go", // scores with the old algorithm
	} {
		if modules[m] {
			t.Errorf("the sspr binary depends on %s", m)
		}
	}
}
