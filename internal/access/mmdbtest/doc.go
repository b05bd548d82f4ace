// Package mmdbtest writes small MaxMind-format (MaxMind DB 2.0) country
// databases for tests. MaxMind's own writer (github.com/maxmind/mmdbwriter)
// is not served by the module proxy here, so this is a minimal encoder
// following the MaxMind DB specification
// (https://maxmind.github.io/MaxMind-DB/): an IPv4 search tree with 24-bit
// records, a data section of maps and strings, and the metadata map. Only
// tests use it; the product reads databases with MaxMind's maintained
// reader (github.com/oschwald/maxminddb-golang/v2).
package mmdbtest
