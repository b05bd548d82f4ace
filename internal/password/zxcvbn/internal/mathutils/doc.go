// Package mathutils has the small integer and float helpers the other
// packages share.
package mathutils
