// Package breach answers "has this password appeared in a known breach?"
// entirely offline, from a corpus built out of the Have I Been Pwned
// "Pwned Passwords" files (or any list of SHA-1 or NTLM hashes).
//
// Directories live in networks that must not call out, so nothing here
// touches the network: an operator downloads the hash files once, builds a
// corpus with Build (or `sspr breach build`), and the server opens it with
// Open or, to swap in new corpora while serving, with a Checker.
//
// # Format
//
// A corpus is a directory holding a manifest (manifest.json) and N shard
// files (N a power of two, chosen by size). A hash is routed to a shard by
// its leading bits and to a 64-bit filter key by the 8 bytes after the first
// four, so shard choice and key are independent. Each shard is a 3-wise
// binary fuse filter with 16-bit fingerprints: about 18 bits per key and a
// false-positive rate of 2^-16 (≈ 0.0015 %), with no false negatives.
//
// Shard files are memory-mapped read-only, so opening costs no copying and
// several processes share the page cache. The manifest records a SHA-256 of
// every shard file; Open verifies each one before the corpus answers
// anything, so a corrupt or truncated shard is reported (as a *CorruptError)
// and never silently answers.
//
// # Building
//
// Building never holds all keys in memory: a first pass parses the inputs
// and appends each 64-bit key to a temporary file per shard; a second pass
// builds each shard's filter from its file alone (peak memory ≈ one shard per
// worker), removing duplicates. The result is written into a new directory
// beside the target and swapped in with one rename, so a reader sees either
// the old corpus or the new one, never a half-written one.
//
// # Serving
//
// A Checker holds the current corpus behind an atomic pointer with a
// reference count: Reload opens a new corpus and swaps it in while lookups
// continue, and the old mapping is released only after the last lookup that
// started on it has finished.
package breach
