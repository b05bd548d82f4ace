package app

import (
	"reflect"
	"testing"
	"time"

	"github.com/sspr/sspr/internal/config"
)

// TestLDAPConfigMapsEverySetting: every directory setting of the YAML file
// reaches the connector through the one translation, so adding a key to
// config.Directory without mapping it fails here instead of being ignored.
func TestLDAPConfigMapsEverySetting(t *testing.T) {
	// Settings the connector does not take by the same name, and why.
	notByName := map[string]string{
		"Type":                        "chooses the connector (and Flavor)",
		"PasswordWrite":               "an openldap.Options field",
		"BindPassword":                "a Secret; its value is mapped (checked below)",
		"AllowInsecureBinds":          "mapped to the connector's insecure switch (checked below)",
		"AllowInsecurePasswordWrites": "deprecated alias, folded into AllowInsecureBinds by config",
		"Entra":                       "type entra settings, built by newEntraDirectory, not an LDAP connector",
		"Connector":                   "type connector settings, built by newConnectorDirectory, not an LDAP connector",
	}
	var d config.Directory
	v := reflect.ValueOf(&d).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("value-" + v.Type().Field(i).Name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int:
			f.SetInt(7)
		case reflect.Int64: // time.Duration
			f.SetInt(int64(3 * time.Second))
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"a-" + v.Type().Field(i).Name}))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			f.Elem().SetBool(true)
		}
	}
	d.Type = "openldap"
	d.BindPassword = config.Secret{Value: "service-password"}
	lc := ldapConfig(d, []config.AttributeQuestion{{Attribute: "employeeID"}})
	out := reflect.ValueOf(lc)
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		if _, skip := notByName[name]; skip {
			continue
		}
		got := out.FieldByName(name)
		if !got.IsValid() {
			t.Errorf("config.Directory.%s has no ldapdir.Config field of that name: map it or list it in notByName", name)
			continue
		}
		if !reflect.DeepEqual(got.Interface(), v.Field(i).Interface()) {
			t.Errorf("%s = %v, want %v", name, got.Interface(), v.Field(i).Interface())
		}
	}
	if lc.BindPassword != "service-password" || !lc.AllowInsecureBinds || lc.Flavor != "openldap" ||
		!reflect.DeepEqual(lc.ExtraAttributes, []string{"employeeID"}) {
		t.Errorf("special mappings: %+v", lc)
	}
}
