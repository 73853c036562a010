package activities

import (
	"github.com/heraldhq/herald/audience"
)

// Recipients is an event's stored recipient specification.
type Recipients = audience.Spec
