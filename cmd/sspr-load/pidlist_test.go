package main

import (
	"slices"
	"strings"
	"testing"
)

func TestPidList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		ok   bool
	}{
		{"123", []int{123}, true},
		{"1,22, 333", []int{1, 22, 333}, true},
		{"", nil, false},
		{"1,,2", nil, false},
		{"0", nil, false},
		{"-4", nil, false},
		{"12a", nil, false},
	} {
		var p pidList
		err := p.Set(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("Set(%q): error %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && !slices.Equal(p, tc.want) {
			t.Errorf("Set(%q) = %v, want %v", tc.in, p, tc.want)
		}
	}
}

// FuzzPidList: Set never panics, accepts only positive integers, and
// what it accepts prints back to a list it reads the same way.
func FuzzPidList(f *testing.F) {
	for _, s := range []string{"1", "1,2,3", " 7 , 8", "", ",", "x", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p pidList
		if err := p.Set(s); err != nil {
			return
		}
		if len(p) != len(strings.Split(s, ",")) {
			t.Fatalf("Set(%q) = %v: not one ID per comma-separated part", s, p)
		}
		for _, pid := range p {
			if pid <= 0 {
				t.Fatalf("Set(%q) accepted %d", s, pid)
			}
		}
		var again pidList
		if err := again.Set(p.String()); err != nil || !slices.Equal(p, again) {
			t.Fatalf("Set(%q) = %v; String %q reads back as %v, %v", s, p, p.String(), again, err)
		}
	})
}
