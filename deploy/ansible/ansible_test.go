package ansible

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/sspr/sspr/internal/agent"
)

func parse(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// yaml.v3 refuses a key given twice in one mapping, which Ansible
	// would take silently (the last one wins).
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Every YAML file of the example parses.
func TestEveryYAMLFileParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml") {
			var v any
			parse(t, p, &v)
			if v == nil {
				t.Errorf("%s is empty", p)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("found %d YAML files, want the playbook, the inventory, the defaults and the tasks", n)
	}
}

// The playbook applies the role that exists here, with root rights.
func TestPlaybookUsesTheRole(t *testing.T) {
	var plays []map[string]any
	parse(t, "site.yml", &plays)
	if len(plays) != 1 {
		t.Fatalf("site.yml has %d plays, want 1", len(plays))
	}
	p := plays[0]
	if p["hosts"] != "sspr_agents" || p["become"] != true {
		t.Errorf("the play: hosts %v, become %v; want sspr_agents, true", p["hosts"], p["become"])
	}
	roles, _ := p["roles"].([]any)
	if len(roles) != 1 || roles[0].(map[string]any)["role"] != "sspr_agent" {
		t.Fatalf("the play's roles: %v", roles)
	}
	if _, err := os.Stat("roles/sspr_agent/tasks/main.yml"); err != nil {
		t.Fatal(err)
	}
}

// modules a task may use (fully qualified, as ansible-lint asks).
var modules = []string{"ansible.builtin.assert", "ansible.builtin.copy", "ansible.builtin.apt",
	"ansible.builtin.template", "ansible.builtin.command", "ansible.builtin.debug"}

// task keywords that are not modules.
var keywords = []string{"name", "when", "register", "changed_when", "failed_when", "no_log"}

func tasks(t *testing.T) []map[string]any {
	t.Helper()
	var ts []map[string]any
	parse(t, "roles/sspr_agent/tasks/main.yml", &ts)
	return ts
}

// Every task has a name and exactly one known module; the registration
// runs once (creates: the identity file) and never logs the token; the
// profile is enabled with the one command; doctor runs last.
func TestTasks(t *testing.T) {
	ts := tasks(t)
	var registerTask, enable, doctor map[string]any
	for i, task := range ts {
		name, _ := task["name"].(string)
		if name == "" {
			t.Errorf("task %d has no name", i)
		}
		var mods []string
		for k := range task {
			switch {
			case slices.Contains(modules, k):
				mods = append(mods, k)
			case !slices.Contains(keywords, k):
				t.Errorf("task %q: unknown key %q (a typo, or a module not in the list)", name, k)
			}
		}
		if len(mods) != 1 {
			t.Errorf("task %q: modules %v, want exactly one", name, mods)
			continue
		}
		args, _ := task[mods[0]].(map[string]any)
		argv := ""
		if a, ok := args["argv"].([]any); ok {
			for _, s := range a {
				argv += " " + s.(string)
			}
		}
		switch {
		case strings.Contains(argv, "sspr-agent register"):
			registerTask = task
		case argv == " pam-auth-update --enable sspr":
			enable = task
		case strings.HasSuffix(argv, "sspr-agent doctor"):
			doctor = task
		}
	}
	if registerTask == nil || enable == nil || doctor == nil {
		t.Fatalf("missing a task: register %v, pam-auth-update %v, doctor %v", registerTask != nil, enable != nil, doctor != nil)
	}
	cmd := registerTask["ansible.builtin.command"].(map[string]any)
	if cmd["creates"] != "{{ sspr_agent_identity_file }}" {
		t.Errorf("the registration runs again on every play (creates: %v); the token is single-use", cmd["creates"])
	}
	if registerTask["no_log"] != true {
		t.Error("the registration task would log the token (no_log is not true)")
	}
	if _, ok := doctor["changed_when"]; !ok {
		t.Error("doctor would count as a change on every run")
	}
}

var use = regexp.MustCompile(`\{\{\s*(\w+)\s*(\|\s*(\w+)\s*)?\}\}|\b(sspr_agent_\w+)`)

func defaults(t *testing.T) map[string]any {
	t.Helper()
	var d map[string]any
	parse(t, "roles/sspr_agent/defaults/main.yml", &d)
	return d
}

// Every role variable the tasks and the template use has a default (a typo
// would otherwise only show on a real machine).
func TestVariablesHaveDefaults(t *testing.T) {
	d := defaults(t)
	for _, f := range []string{"roles/sspr_agent/tasks/main.yml", "roles/sspr_agent/templates/agent.yaml.j2", "inventory.example.yml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			v := m[1] + m[4]
			if !strings.HasPrefix(v, "sspr_agent_") || strings.HasPrefix(v, "sspr_agent_pam_state") || strings.HasPrefix(v, "sspr_agent_doctor") && v != "sspr_agent_doctor_must_pass" {
				continue
			}
			if _, ok := d[v]; !ok {
				t.Errorf("%s uses %s, which has no default", f, v)
			}
		}
	}
}

// render fills in the template the way Jinja would for the forms it uses
// ({{ var | to_json }} and {{ ansible_managed }}).
func render(t *testing.T, vars map[string]any) string {
	t.Helper()
	b, err := os.ReadFile("roles/sspr_agent/templates/agent.yaml.j2")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "{%") {
		t.Fatal("the template uses Jinja statements this test cannot render")
	}
	return use.ReplaceAllStringFunc(string(b), func(s string) string {
		m := use.FindStringSubmatch(s)
		if m[1] == "" {
			return s // a bare name in a comment
		}
		if m[1] == "ansible_managed" {
			return "Ansible managed"
		}
		v, ok := vars[m[1]]
		if !ok {
			t.Fatalf("the template uses %s, which has no value", m[1])
		}
		if m[3] != "to_json" {
			t.Fatalf("the template writes %s without to_json (a value with a colon or a quote would break the YAML)", m[1])
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(j)
	})
}

// The template, with the role's defaults and the one required value, is an
// agent.yaml that sspr-agent accepts and reads as meant; with a VPN too.
func TestTemplateIsAValidAgentConfig(t *testing.T) {
	vars := defaults(t)
	vars["sspr_agent_server_url"] = "https://sspr.example.com"
	vars["sspr_agent_help_desk"] = `call "IT": +1 555 0100`
	cfg, err := agent.ParseConfig([]byte(render(t, vars)))
	if err != nil {
		t.Fatalf("the rendered agent.yaml is refused: %v\n%s", err, render(t, vars))
	}
	if cfg.ServerURL != "https://sspr.example.com" || cfg.HelpDesk != `call "IT": +1 555 0100` ||
		cfg.IdentityFile != vars["sspr_agent_identity_file"] || cfg.Timeout.String() != "10s" || !cfg.LocalUnlock.Faillock {
		t.Errorf("the rendered agent.yaml reads as %+v", cfg)
	}

	vars["sspr_agent_dc_probe"] = []string{"dc1.example.com:88"}
	vars["sspr_agent_vpn_up_command"] = "nmcli connection up corp-vpn"
	vars["sspr_agent_vpn_down_command"] = "nmcli connection down corp-vpn"
	cfg, err = agent.ParseConfig([]byte(render(t, vars)))
	if err != nil {
		t.Fatalf("the rendered agent.yaml with a VPN is refused: %v", err)
	}
	if cfg.VPN.UpCommand != "nmcli connection up corp-vpn" || len(cfg.DCProbe) != 1 {
		t.Errorf("VPN settings read as %+v, probe %v", cfg.VPN, cfg.DCProbe)
	}

	// Without the server's URL the agent refuses it (the role asserts it first).
	vars["sspr_agent_server_url"] = ""
	if _, err := agent.ParseConfig([]byte(render(t, vars))); err == nil {
		t.Error("an agent.yaml without server_url was accepted")
	}
}
