package ad

// The attribute lists, for the lookup benchmark (ad_test).
var (
	LookupStatusAttrs = lookupStatusAttrs
	StatusAttrs       = statusAttrs
)
