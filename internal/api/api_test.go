package api

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sspr/sspr/internal/flow"
)

// TestOpenAPIDescribesEveryRoute keeps the document and the code in step.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Properties map[string]struct {
						Enum []string `yaml:"enum"`
					} `yaml:"properties"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for _, route := range append(append(append([]string{}, Routes...), EnrollRoutes...), AgentRoutes...) {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.yaml does not describe %s", route)
		}
	}
	documented := map[string]bool{}
	for _, c := range doc.Components.Schemas["ErrorBody"].Properties["error"].Properties["code"].Enum {
		documented[c] = true
	}
	for _, c := range flow.AllCodes {
		if !documented[string(c)] {
			t.Errorf("error code %q is not in openapi.yaml", c)
		}
	}
}
