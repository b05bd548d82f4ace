package admin

import (
	"net/http"

	"github.com/sspr/sspr/internal/flow"
)

// configHistoryShown is how many starts and reloads the page lists.
const configHistoryShown = 100

// configView shows the running configuration (every secret hidden: see
// config.EffectiveYAML) and the changes recorded at starts and reloads.
func (c *Console) configView(format string) func(http.ResponseWriter, *http.Request, *flow.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *flow.Principal) {
		rep, ok := c.reports()
		if !ok {
			http.NotFound(w, r)
			return
		}
		history, err := rep.ConfigHistory(r.Context(), configHistoryShown)
		if err != nil {
			c.fail(w, err)
			return
		}
		var yaml string
		if f := c.opts.Reports.EffectiveConfig; f != nil {
			yaml = string(f())
		}
		if format == "json" {
			writeJSON(w, map[string]any{"effective_yaml": yaml, "history": history})
			return
		}
		c.render(w, "config", p, map[string]any{"Title": "Configuration", "YAML": yaml, "History": history})
	}
}
