package app

import (
	"time"

	"github.com/sspr/sspr/internal/config"
	"github.com/sspr/sspr/internal/factor"
)

// moreFactors builds the factors beyond email.
func moreFactors(cfg *config.Config, k factor.Kind, key []byte, now func() time.Time) (factor.Factor, error) {
	return nil, nil
}
