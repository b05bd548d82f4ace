package portal

import "github.com/sspr/sspr/internal/factor"

// The kinds whose enrollment starts with the person's user name at the
// factor's server (RADIUS, Duo, when their enroll setting is on); the
// portal names them here rather than importing the factor packages.
const (
	radiusKind factor.Kind = "radius"
	duoKind    factor.Kind = "duo"
)

func asksUsername(k factor.Kind) bool { return k == radiusKind || k == duoKind }
