package ad_test

import (
	"testing"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/testenv/dirtest"
)

// TestADMailOf: a manager's address is read by DN from Samba AD; an
// unknown DN reads nothing.
func TestADMailOf(t *testing.T) {
	cfg := dirtest.ADConfig(t)
	u := dirtest.CreateADUser(t, "Initial-Pass1")
	d := newAD(t, cfg)
	var _ directory.MailReader = d
	if got, err := d.MailOf(ctx(t), u.DN); err != nil || got != u.Mail {
		t.Fatalf("MailOf(%s) = %q, %v; want %q", u.DN, got, err, u.Mail)
	}
	_, err := d.MailOf(ctx(t), "CN=nobody-"+u.Login+",CN=Users,"+cfg.BaseDN)
	wantErr(t, err, directory.KindNotFound)
}
