package sync

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/sspr/sspr/internal/directory"
	"github.com/sspr/sspr/internal/sync/target"
)

// Mapping attributes understood besides any attribute name the primary
// connector reads (directory.User.Attributes).
const (
	AttrLogin       = "login"       // sAMAccountName or uid, as the connector resolved it
	AttrDN          = "dn"          // the distinguished name
	AttrMail        = "mail"        // the mail the connector read
	AttrUPN         = "upn"         // userPrincipalName
	AttrImmutableID = "immutableid" // Entra's onPremisesImmutableId: base64 of AD objectGUID
	AttrObjectGUID  = "objectguid"  // AD objectGUID as the usual GUID text
)

// Attributes lists the attributes the primary connector must read so
// that every mapping can be resolved: configure them as extra attributes
// of the directory.
func Attributes(mapping string) []string {
	switch strings.ToLower(mapping) {
	case AttrLogin, AttrDN, AttrMail:
		return nil
	case AttrUPN:
		return []string{"userPrincipalName"}
	case AttrImmutableID, AttrObjectGUID:
		return []string{"objectGUID"}
	default:
		return []string{mapping}
	}
}

// attr returns the first value of name, ignoring case.
func attr(u *directory.User, name string) string {
	for k, v := range u.Attributes {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// MapIdentity resolves mapping for u; Key is empty when u lacks it.
func MapIdentity(u *directory.User, mapping string) (target.Identity, error) {
	id := target.Identity{Attribute: mapping, Login: u.Login, DN: u.DN, UPN: attr(u, "userPrincipalName"),
		Mail: u.Email, Directory: u.Directory}
	switch strings.ToLower(mapping) {
	case AttrLogin:
		id.Key = u.Login
	case AttrDN:
		id.Key = u.DN
	case AttrMail:
		id.Key = u.Email
	case AttrUPN:
		id.Key = id.UPN
	case AttrImmutableID, AttrObjectGUID:
		raw := attr(u, "objectGUID")
		if raw == "" {
			break
		}
		if len(raw) != 16 {
			return id, fmt.Errorf("the objectGUID of %s is %d bytes long, not 16", u.DN, len(raw))
		}
		if strings.EqualFold(mapping, AttrImmutableID) {
			id.Key = base64.StdEncoding.EncodeToString([]byte(raw))
		} else {
			id.Key = guidString([]byte(raw))
		}
	default:
		id.Key = attr(u, mapping)
	}
	return id, nil
}

// guidString writes an AD objectGUID (its first three fields little
// endian) as the text Windows and Graph show.
func guidString(b []byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16])
}
