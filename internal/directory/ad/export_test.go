package ad

// The attribute lists, for the lookup benchmark (ad_test).
var (
	LookupStatusAttrs = lookupStatusAttrs
	StoredStatusAttrs = storedStatusAttrs
	StatusAttrs       = statusAttrs
)
