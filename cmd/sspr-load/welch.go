package main

import (
	"math"
	"time"
)

// welch is Welch's unequal-variances t-test of two samples of durations:
// the t statistic, the Welch–Satterthwaite degrees of freedom and the
// two-sided p-value. A high p means the samples' means cannot be told
// apart; the identify step must look the same for known and unknown logins.
func welch(a, b []time.Duration) (t, df, p float64) {
	if len(a) < 2 || len(b) < 2 {
		return 0, 0, math.NaN()
	}
	ma, va := meanVar(a)
	mb, vb := meanVar(b)
	na, nb := float64(len(a)), float64(len(b))
	sa, sb := va/na, vb/nb
	if sa+sb == 0 {
		if ma == mb {
			return 0, na + nb - 2, 1
		}
		return math.Inf(1), na + nb - 2, 0
	}
	t = (ma - mb) / math.Sqrt(sa+sb)
	df = (sa + sb) * (sa + sb) / (sa*sa/(na-1) + sb*sb/(nb-1))
	// P(|T| > |t|) for Student's t with df degrees of freedom.
	p = regIncBeta(df/2, 0.5, df/(df+t*t))
	return t, df, p
}

func meanVar(ds []time.Duration) (mean, variance float64) {
	for _, d := range ds {
		mean += float64(d) / float64(time.Millisecond)
	}
	mean /= float64(len(ds))
	for _, d := range ds {
		x := float64(d)/float64(time.Millisecond) - mean
		variance += x * x
	}
	return mean, variance / float64(len(ds)-1)
}

// regIncBeta is the regularised incomplete beta function I_x(a, b), by its
// continued fraction (modified Lentz), as in Numerical Recipes §6.4.
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	if x > (a+1)/(a+b+2) {
		return 1 - front*betaFraction(b, a, 1-x)/b
	}
	return front * betaFraction(a, b, x) / a
}

func betaFraction(a, b, x float64) float64 {
	const tiny, eps = 1e-300, 1e-14
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		d, c = 1+num*d, 1+num/c
		if math.Abs(d) < tiny {
			d = tiny
		}
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		d, c = 1+num*d, 1+num/c
		if math.Abs(d) < tiny {
			d = tiny
		}
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
