// Package ansible holds no code: it is the Ansible example that rolls the
// sspr login-screen agent out to many Linux machines (site.yml and the
// sspr_agent role). Its test checks what can be checked without Ansible
// (which is not installable on the build machines: no PyPI): the YAML
// parses, every task is well-formed, the variables used are defined, and
// the agent.yaml template, filled in with the role's defaults, is a
// configuration sspr-agent accepts.
package ansible
