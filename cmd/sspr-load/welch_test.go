package main

import (
	"math"
	"testing"
	"time"
)

// TestWelch checks the test against values computed independently
// (scipy.stats.ttest_ind(a, b, equal_var=False)).
func TestWelch(t *testing.T) {
	ms := func(xs ...float64) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x * float64(time.Millisecond))
		}
		return out
	}
	a := ms(27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4)
	b := ms(27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4)
	// Welch's own example 1 (Wikipedia, "Welch's t-test"): t = -2.46,
	// df = 24.99, p = 0.021.
	tt, df, p := welch(a, b)
	if math.Abs(tt+2.46) > 0.01 || math.Abs(df-24.99) > 0.05 || math.Abs(p-0.021) > 0.001 {
		t.Errorf("welch = t %.3f, df %.2f, p %.4f; want -2.46, 24.99, 0.021", tt, df, p)
	}
	if _, _, p := welch(a, a); p != 1 {
		t.Errorf("identical samples: p = %v, want 1", p)
	}
	if got := regIncBeta(2, 3, 0.4); math.Abs(got-0.5248) > 1e-4 {
		t.Errorf("I_0.4(2,3) = %.5f, want 0.5248", got)
	}
}
