// Package channel names the ways Herald reaches people.
package channel

// Channel is a delivery channel, as stored on delivery rows and named in
// preference documents and event types.
type Channel string

// The channels of the contract.
const (
	InApp   Channel = "in_app"
	Email   Channel = "email"
	Slack   Channel = "slack"
	Webhook Channel = "webhook"
	// Push is listed but not available yet: clients see it coming, and a
	// document naming it is refused rather than stored for a channel that
	// would deliver nothing.
	Push Channel = "push"
)

// All lists every channel Herald delivers on, in the order deliveries are
// planned.
var All = []Channel{InApp, Email, Slack, Webhook}

// Listed is every channel the API lists: those of All, then those coming
// soon.
var Listed = []Channel{InApp, Email, Slack, Webhook, Push}

// Valid reports whether c is one of All.
func (c Channel) Valid() bool {
	for _, k := range All {
		if c == k {
			return true
		}
	}
	return false
}

// ComingSoon reports whether c is listed but not available yet.
func (c Channel) ComingSoon() bool { return c == Push }
