package main

import (
	"github.com/sspr/sspr/internal/directory/ad"

	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// dirOptions say how to reach a directory as an administrator (users) or
// as sspr's service account (the raw reset limit).
type dirOptions struct {
	kind     string // openldap (also 389ds) or ad
	url      string
	bindDN   string
	password string
	caFile   string
	baseDN   string // where load users live (an OU the tool creates)
	prefix   string
	// asSSPR makes the raw AD reset the write sspr's connector makes.
	asSSPR bool
}

func (o dirOptions) dial() (*ldap.Conn, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no certificate", o.caFile)
		}
	}
	c, err := ldap.DialURL(o.url, ldap.DialWithTLSConfig(tc))
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(o.url, "ldap://") {
		if err := c.StartTLS(tc); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(o.bindDN, o.password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (o dirOptions) login(i int) string { return fmt.Sprintf("%s%d", o.prefix, i) }

func (o dirOptions) mail(i int) string { return fmt.Sprintf("%s%d@load.test", o.prefix, i) }

// createUsers adds count users (prefix0 … prefixN-1) below baseDN,
// creating the OU first; existing users are left as they are, so a second
// run reuses them.
func createUsers(o dirOptions, count, workers int, password string, progress func(done int)) error {
	c, err := o.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	ou := ldap.NewAddRequest(o.baseDN, nil)
	ou.Attribute("objectClass", []string{"top", "organizationalUnit"})
	// The RDN's value, whatever case the attribute name is written in
	// (AD refuses "OU=x" with ou "OU=x").
	_, rdn, _ := strings.Cut(strings.SplitN(o.baseDN, ",", 2)[0], "=")
	ou.Attribute("ou", []string{rdn})
	if err := c.Add(ou); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		return fmt.Errorf("creating %s: %w", o.baseDN, err)
	}
	// Each worker adds every workers-th user over a connection of its own.
	var done atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, max(workers, 1))
	for w := range max(workers, 1) {
		wg.Go(func() {
			wc := c
			if w > 0 {
				if wc, errs[w] = o.dial(); errs[w] != nil {
					return
				}
				defer wc.Close()
			}
			errs[w] = addUsers(o, wc, w, max(workers, 1), count, password, func() {
				if progress != nil {
					progress(int(done.Add(1)))
				}
			})
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func addUsers(o dirOptions, c *ldap.Conn, first, step, count int, password string, added func()) error {
	for i := first; i < count; i += step {
		login := o.login(i)
		var add *ldap.AddRequest
		switch o.kind {
		case "ad":
			add = ldap.NewAddRequest("CN="+login+","+o.baseDN, nil)
			add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
			add.Attribute("sAMAccountName", []string{login})
			add.Attribute("userPrincipalName", []string{login + "@load.test"})
			add.Attribute("mail", []string{o.mail(i)})
			add.Attribute("displayName", []string{"Load " + login})
			add.Attribute("unicodePwd", []string{adPassword(password)})
			add.Attribute("userAccountControl", []string{"512"})
		default:
			add = ldap.NewAddRequest("uid="+login+","+o.baseDN, nil)
			add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
			add.Attribute("uid", []string{login})
			add.Attribute("cn", []string{"Load " + login})
			add.Attribute("sn", []string{login})
			add.Attribute("mail", []string{o.mail(i)})
			add.Attribute("userPassword", []string{password})
		}
		if err := c.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return fmt.Errorf("creating %s: %w", login, err)
		}
		added()
	}
	return nil
}

// deleteUsers removes every entry directly below baseDN and then baseDN
// itself (the OU createUsers made), reading them page by page: Samba and AD
// answer at most 1,000 entries to one search.
func deleteUsers(o dirOptions, progress func(done int)) (int, error) {
	c, err := o.dial()
	if err != nil {
		return 0, err
	}
	defer c.Close()
	done := 0
	for {
		res, err := c.SearchWithPaging(ldap.NewSearchRequest(o.baseDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 120, false,
			"(objectClass=*)", []string{"1.1"}, nil), 500)
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return done, nil
		}
		if err != nil {
			return done, fmt.Errorf("listing %s: %w", o.baseDN, err)
		}
		if len(res.Entries) == 0 {
			break
		}
		for _, e := range res.Entries {
			if err := c.Del(ldap.NewDelRequest(e.DN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return done, fmt.Errorf("deleting %s: %w", e.DN, err)
			}
			done++
			if progress != nil {
				progress(done)
			}
		}
	}
	if err := c.Del(ldap.NewDelRequest(o.baseDN, nil)); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return done, fmt.Errorf("deleting %s: %w", o.baseDN, err)
	}
	return done, nil
}

func adPassword(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	return string(b)
}

// rawResetter is one connection doing what a reset needs at the least:
// find the user, write the password.
type rawResetter struct {
	o    dirOptions
	conn *ldap.Conn
}

func (r *rawResetter) reset(i int) error {
	if r.conn == nil {
		c, err := r.o.dial()
		if err != nil {
			return err
		}
		r.conn = c
	}
	attr := "uid"
	if r.o.kind == "ad" {
		attr = "sAMAccountName"
	}
	res, err := r.conn.Search(ldap.NewSearchRequest(r.o.baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 30, false,
		"("+attr+"="+ldap.EscapeFilter(r.o.login(i))+")", []string{"dn", "mail"}, nil))
	if err != nil {
		r.drop()
		return err
	}
	if len(res.Entries) != 1 {
		return errors.New("user " + r.o.login(i) + " not found")
	}
	dn := res.Entries[0].DN
	pw := newPassword()
	if r.o.kind == "ad" {
		var controls []ldap.Control
		if r.o.asSSPR {
			controls = append(controls, ad.PolicyHints(ad.PolicyHintsOID))
		}
		m := ldap.NewModifyRequest(dn, controls)
		m.Replace("unicodePwd", []string{adPassword(pw)})
		err = r.conn.Modify(m)
		if err == nil && r.o.asSSPR {
			_, err = r.conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 30, false,
				"(objectClass=*)", []string{"lockoutTime"}, nil))
		}
	} else {
		_, err = r.conn.PasswordModify(ldap.NewPasswordModifyRequest(dn, "", pw))
	}
	if err != nil {
		var le *ldap.Error
		if !errors.As(err, &le) {
			r.drop()
		}
		return err
	}
	return nil
}

func (r *rawResetter) drop() {
	if r.conn != nil {
		r.conn.Close()
		r.conn = nil
	}
}

// opCounts are OpenLDAP's completed operations by kind (bind, search,
// modify, extended, …) and in total, from cn=monitor.
type opCounts map[string]int64

func (c opCounts) total() int64 {
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

// minus returns c - d, kind by kind.
func (c opCounts) minus(d opCounts) opCounts {
	out := opCounts{}
	for k, v := range c {
		out[k] = v - d[k]
	}
	return out
}

// countOps reads OpenLDAP's completed-operation counters from cn=monitor
// (needs the monitor database, which scripts/testenv/openldap.sh turns on);
// ok is false where the directory has no such counter (Samba).
func countOps(o dirOptions) (opCounts, bool) {
	c, err := o.dial()
	if err != nil {
		return nil, false
	}
	defer c.Close()
	res, err := c.Search(ldap.NewSearchRequest("cn=Operations,cn=Monitor", ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 10, false,
		"(objectClass=*)", []string{"monitorOpCompleted"}, nil))
	if err != nil || len(res.Entries) == 0 {
		return nil, false
	}
	out := opCounts{}
	for _, e := range res.Entries {
		var v int64
		if _, err := fmt.Sscan(e.GetAttributeValue("monitorOpCompleted"), &v); err != nil {
			return nil, false
		}
		kind := strings.ToLower(strings.TrimPrefix(strings.SplitN(e.DN, ",", 2)[0], "cn="))
		out[kind] = v
	}
	return out, true
}
