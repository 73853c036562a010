// Package channel names the ways Herald reaches people.
package channel

// Channel is a delivery channel, as stored on delivery rows and named in
// preference documents and event types.
type Channel string

// The channels of the contract. Push is "not yet".
const (
	InApp   Channel = "in_app"
	Email   Channel = "email"
	Slack   Channel = "slack"
	Webhook Channel = "webhook"
)

// All lists every channel in the order deliveries are planned.
var All = []Channel{InApp, Email, Slack, Webhook}

// Valid reports whether c is one of All.
func (c Channel) Valid() bool {
	for _, k := range All {
		if c == k {
			return true
		}
	}
	return false
}
