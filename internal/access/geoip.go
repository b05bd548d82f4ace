package access

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP finds countries in a MaxMind-format database (GeoLite2-Country,
// GeoIP2-Country or -City, or any database with country.iso_code),
// read with MaxMind's maintained reader.
type GeoIP struct {
	db *maxminddb.Reader
}

// OpenGeoIP opens the database at path.
func OpenGeoIP(path string) (*GeoIP, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip: %w", err)
	}
	return &GeoIP{db: db}, nil
}

// Close releases the database.
func (g *GeoIP) Close() error { return g.db.Close() }

// Country is the ISO code of ip's country; "" when the database does not
// know the address.
func (g *GeoIP) Country(ip netip.Addr) (string, error) {
	var rec struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
	}
	res := g.db.Lookup(ip)
	if err := res.Err(); err != nil {
		return "", err
	}
	if !res.Found() {
		return "", nil
	}
	if err := res.Decode(&rec); err != nil {
		return "", err
	}
	return rec.Country.ISOCode, nil
}
