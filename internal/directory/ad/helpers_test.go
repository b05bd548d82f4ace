package ad

import "github.com/sspr/sspr/internal/directory/ldapdir"

func directoryConfig() ldapdir.Config {
	return ldapdir.Config{URLs: []string{"ldaps://dc1.example.test"}, BaseDN: "DC=example,DC=test",
		BindDN: "CN=sspr,CN=Users,DC=example,DC=test", BindPassword: "x"}
}
