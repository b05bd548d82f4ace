// Package dirtest gives integration tests real directories to work against:
// the Samba AD DC and the OpenLDAP slapd that scripts/testenv starts.
//
// Start them and load their settings, then run the tests:
//
//	scripts/testenv/up.sh /tmp/sspr-testenv
//	. /tmp/sspr-testenv/env.sh
//	SSPR_TEST_REQUIRE_INTEGRATION=1 go test ./...
//
// The environment contract (written by scripts/testenv into STATE_DIR/env.sh):
//
//	SSPR_TEST_AD_URL              ldaps://127.0.0.1:636
//	SSPR_TEST_AD_BASE_DN          DC=example,DC=test
//	SSPR_TEST_AD_BIND_DN          CN=Administrator,CN=Users,DC=example,DC=test
//	SSPR_TEST_AD_BIND_PASSWORD    its password
//	SSPR_TEST_AD_CA_FILE          PEM of the test CA
//	SSPR_TEST_LDAP_URL            ldap://127.0.0.1:3890 (StartTLS available)
//	SSPR_TEST_LDAP_LDAPS_URL      ldaps://127.0.0.1:6360
//	SSPR_TEST_LDAP_BASE_DN        dc=example,dc=test
//	SSPR_TEST_LDAP_BIND_DN        cn=sspr,ou=services,dc=example,dc=test (service account:
//	SSPR_TEST_LDAP_BIND_PASSWORD  read people, write - not manage - userPassword)
//	SSPR_TEST_LDAP_ADMIN_DN       cn=admin,dc=example,dc=test (rootDN, for test setup only)
//	SSPR_TEST_LDAP_ADMIN_PASSWORD its password
//	SSPR_TEST_LDAP_CA_FILE        PEM of the test CA
//	SSPR_TEST_LDAP_POLICY_DN      the default pwdPolicy entry (ppolicy_default)
//	SSPR_TEST_LDAP_POLICY2_DN     a second, stricter pwdPolicy (pwdMustChange TRUE)
//	SSPR_TEST_LDAP_GROUPS_DN      ou=groups, for group tests
//	SSPR_TEST_AD_SVC_DN           CN=sspr-svc,...: least-privilege service account
//	SSPR_TEST_AD_SVC_PASSWORD     (Reset Password, write pwdLastSet / lockoutTime)
//	SSPR_TEST_AD_NORIGHTS_DN      CN=sspr-norights,...: a service account without rights
//	SSPR_TEST_AD_NORIGHTS_PASSWORD
//	SSPR_TEST_AD_PSO_DN           a PSO (min length 12) tests apply to their own users
//	SSPR_TEST_AD_LOCKOUT_THRESHOLD the domain's lockout threshold (3)
//	SSPR_TEST_389_URL             ldaps://127.0.0.1:6361 (389 Directory Server)
//	SSPR_TEST_389_LDAP_URL        ldap://127.0.0.1:3891
//	SSPR_TEST_389_BASE_DN, _BIND_DN, _BIND_PASSWORD, _ADMIN_DN, _ADMIN_PASSWORD, _CA_FILE
//
// When a directory's variables are missing, every helper skips the test,
// unless SSPR_TEST_REQUIRE_INTEGRATION=1, in which case it fails it: CI sets
// that so a broken test environment cannot pass as "all skipped".
//
// ADConfig and LDAPConfig return complete connector configurations (presets
// applied) for the service account; NewADUser and NewLDAPUser create a
// uniquely named, enabled user with a given password and delete it when the
// test ends; Bind checks a password the way a connector does and returns the
// connector's typed error.
//
// The package imports "testing" and is meant for tests only.
package dirtest
