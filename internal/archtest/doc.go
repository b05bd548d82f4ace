// Package archtest holds no code: its test reads the import graph of the
// module and fails when a package imports across the layers of
// docs/architecture.md (faces → flows → domain → adapters → platform,
// imports pointing down only), above all when a face (the CLI, the portal,
// the JSON API) imports an adapter instead of going through app and the
// flows. The map of packages to layers lives in the test, next to the
// short list of known exceptions, each with the reason it still exists.
package archtest
