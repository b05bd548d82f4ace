package flow_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/sspr/sspr/internal/audit"
	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/directory/openldap"
	"github.com/sspr/sspr/internal/factor"
	"github.com/sspr/sspr/internal/factor/email"
	"github.com/sspr/sspr/internal/flow"
	"github.com/sspr/sspr/internal/secrets"
	"github.com/sspr/sspr/internal/store"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// BenchmarkAdmin100k loads 100,000 generated people into the real
// OpenLDAP (SSPR_BENCH_USERS sets another count) — into a unique OU (ten
// sub-OUs) with one bulk LDIF through ldapadd as the directory's admin,
// deleted afterwards — and measures the enrollment coverage report (a
// third of them enrolled) and a CSV pre-enrollment of every one of them
// (each iteration into a fresh database). Figures: docs/benchmarks.md.
func BenchmarkAdmin100k(b *testing.B) {
	n := 100000
	if s := os.Getenv("SSPR_BENCH_USERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	cfg := dirtest.LDAPConfig(b)
	ou := loadLDAPUsers(b, n)
	cfg.BaseDN = ou
	cfg.Timeout = 60 * time.Second
	// The test server caps the service account at 500 entries in total,
	// paging or not (OpenLDAP's default size.prtotal); its admin reads
	// without a cap, as a service account with "limits ... size.prtotal=
	// unlimited" would (docs/admin.md).
	cfg.BindDN, cfg.BindPassword = os.Getenv("SSPR_TEST_LDAP_ADMIN_DN"), os.Getenv("SSPR_TEST_LDAP_ADMIN_PASSWORD")
	dir, err := openldap.New(cfg, openldap.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dir.Close() })
	ring, err := secrets.NewKeyRing(1, secrets.Key{Version: 1, Secret: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	mail, err := email.New(email.Config{Key: make([]byte, 32)})
	if err != nil {
		b.Fatal(err)
	}
	newAdmin := func(b *testing.B) (*flow.Admin, *store.Store) {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "sspr.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		e := &flow.Enroll{Kit: &flow.Kit{Store: st, Sealer: ring, Audit: audit.NewChain([]byte("bench")), Directories: directory.NewSet(dir)},
			Catalogue: &flow.Catalogue{Factors: map[factor.Kind]factor.Factor{factor.Email: mail}, Offered: []factor.Kind{factor.Email}}}
		return &flow.Admin{Enroll: e, Directories: []directory.Directory{dir}}, st
	}

	// The floor: the same people read in one paged search with go-ldap
	// and nothing done with them, on the same machine at the same moment.
	b.Run("raw-search", func(b *testing.B) {
		conn := dirtest.LDAPAdmin(b)
		for b.Loop() {
			res, err := conn.SearchWithPaging(ldap.NewSearchRequest(ou, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=inetOrgPerson)", []string{"uid", "displayName"}, nil), 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Entries) != n {
				b.Fatalf("%d entries", len(res.Entries))
			}
		}
	})

	b.Run("coverage", func(b *testing.B) {
		a, st := newAdmin(b)
		now := time.Now()
		err = st.InTx(context.Background(), func(tx *store.Tx) error {
			for i := 0; i < n; i += 3 {
				if err := tx.InsertEnrollment(&store.Enrollment{ID: fmt.Sprintf("e%d", i), Directory: cfg.Name, SubjectDN: benchDN(i, ou),
					Kind: "totp", Label: "app", Secret: []byte{1}, Source: "user", CreatedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			cov, err := a.Coverage(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if cov.Users != n || cov.Enrolled != (n+2)/3 || len(cov.OUs) != 10 {
				b.Fatalf("coverage: %d users, %d enrolled, %d OUs", cov.Users, cov.Enrolled, len(cov.OUs))
			}
		}
		b.ReportMetric(float64(n), "users")
	})

	b.Run("import", func(b *testing.B) {
		var csv bytes.Buffer
		csv.WriteString("login,kind,value\n")
		for i := 0; i < n; i++ {
			fmt.Fprintf(&csv, "bench%06d,email,bench%06d@example.org\n", i, i)
		}
		for b.Loop() {
			b.StopTimer()
			a, _ := newAdmin(b) // a fresh database: nobody enrolled yet
			b.StartTimer()
			res, err := a.ImportEnrollments(context.Background(), bytes.NewReader(csv.Bytes()), "bench", "", false)
			if err != nil {
				b.Fatal(err)
			}
			if res.ProblemCount != 0 || res.Imported != n {
				b.Fatalf("import: %+v", res)
			}
		}
		b.ReportMetric(float64(n), "rows")
	})
}

func benchDN(i int, ou string) string {
	return fmt.Sprintf("uid=bench%06d,ou=part%d,%s", i, i%10, ou)
}

// loadLDAPUsers adds n people in ten sub-OUs of a new OU with ldapadd and
// returns the OU's DN; the OU goes when the benchmark ends.
func loadLDAPUsers(b *testing.B, n int) string {
	b.Helper()
	for _, tool := range []string{"ldapadd", "ldapdelete"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skip(tool + " is not installed (ldap-utils)")
		}
	}
	base := dirtest.LDAPConfig(b).BaseDN
	name := dirtest.UniqueName("bench")
	ou := "ou=" + name + "," + base
	var ldif bytes.Buffer
	fmt.Fprintf(&ldif, "dn: %s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, name)
	for p := 0; p < 10; p++ {
		fmt.Fprintf(&ldif, "dn: ou=part%d,%s\nobjectClass: organizationalUnit\nou: part%d\n\n", p, ou, p)
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&ldif, "dn: %s\nobjectClass: inetOrgPerson\nuid: bench%06d\ncn: Bench %d\nsn: %d\ndisplayName: Bench Person %d\n\n",
			benchDN(i, ou), i, i, i, i)
	}
	dir := b.TempDir()
	ldifPath, pwPath := filepath.Join(dir, "users.ldif"), filepath.Join(dir, "pw")
	if err := os.WriteFile(ldifPath, ldif.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	// -y reads the password from a file, never from the command line.
	if err := os.WriteFile(pwPath, []byte(os.Getenv("SSPR_TEST_LDAP_ADMIN_PASSWORD")), 0o600); err != nil {
		b.Fatal(err)
	}
	ldap := func(tool string, args ...string) error {
		cmd := exec.Command(tool, append([]string{"-x", "-ZZ", "-H", os.Getenv("SSPR_TEST_LDAP_URL"), "-D", os.Getenv("SSPR_TEST_LDAP_ADMIN_DN"), "-y", pwPath}, args...)...)
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+os.Getenv("SSPR_TEST_LDAP_CA_FILE"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr // stdout says "adding new entry" for each one
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v\n%.2000s", tool, err, stderr.String())
		}
		return nil
	}
	began := time.Now()
	b.Cleanup(func() {
		began := time.Now()
		if err := ldap("ldapdelete", "-r", ou); err != nil {
			b.Errorf("removing the generated people: %v", err)
			return
		}
		b.Logf("deleted %s in %s", ou, time.Since(began).Round(time.Second))
	})
	if err := ldap("ldapadd", "-f", ldifPath); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d people into %s in %s", n, ou, time.Since(began).Round(time.Second))
	return ou
}
