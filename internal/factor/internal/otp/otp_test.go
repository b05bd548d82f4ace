package otp

import (
	"testing"
)

func TestCode(t *testing.T) {
	seen := map[byte]int{}
	for range 2000 {
		c, err := Code(6)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 6 {
			t.Fatalf("code %q", c)
		}
		for i := range c {
			if c[i] < '0' || c[i] > '9' {
				t.Fatalf("code %q", c)
			}
			seen[c[i]]++
		}
	}
	// 12000 digits: each of the ten should appear about 1200 times.
	for d := byte('0'); d <= '9'; d++ {
		if seen[d] < 900 || seen[d] > 1500 {
			t.Errorf("digit %c appears %d times in 12000", d, seen[d])
		}
	}
}

func TestCleanCode(t *testing.T) {
	if got := CleanCode(" 12-34 56\u00a0"); got != "123456" {
		t.Fatalf("CleanCode = %q", got)
	}
}
