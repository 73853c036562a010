// Package delivery names the states of deliveries and events and the reasons
// a delivery is skipped: the delivery log's vocabulary, shared by the API,
// the workflows and the activities.
package delivery

// Status is a delivery row's state.
type Status string

const (
	// Pending deliveries are planned and not settled; a deferred one has not_before.
	Pending   Status = "pending"
	Delivered Status = "delivered"
	// Failed deliveries exhausted their retries or were refused for good.
	Failed    Status = "failed"
	Skipped   Status = "skipped"
	Cancelled Status = "cancelled"
)

// Statuses lists every delivery status.
var Statuses = []Status{Pending, Delivered, Failed, Skipped, Cancelled}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// Reason says why a delivery was skipped or cancelled.
type Reason string

const (
	None                 Reason = ""
	PreferenceDisabled   Reason = "preference_disabled"
	CategoryUnsubscribed Reason = "category_unsubscribed"
	NoAddress            Reason = "no_address"
	Digested             Reason = "digested"
	Duplicate            Reason = "duplicate"
	// UserDeleted cancels what was still pending for a deleted user.
	UserDeleted Reason = "user_deleted"
	// CancelledWithEvent cancels what was still pending of a cancelled event.
	CancelledWithEvent Reason = "event_cancelled"
)

// EventStatus is an event's overall outcome, on its row and in the
// HeraldStatus search attribute.
type EventStatus string

const (
	EventPending   EventStatus = "pending"
	EventDelivered EventStatus = "delivered"
	// EventPartial: some deliveries failed, others went out.
	EventPartial   EventStatus = "partial"
	EventFailed    EventStatus = "failed"
	EventCancelled EventStatus = "cancelled"
	// EventEvaluated: an input event the tenant's rules have decided on
	// (GET /v1/events/{id} says which fired).
	EventEvaluated EventStatus = "evaluated"
)

// Outcome is the status of an event whose deliveries settled as tallied.
func Outcome(delivered, failed int) EventStatus {
	switch {
	case failed > 0 && delivered == 0:
		return EventFailed
	case failed > 0:
		return EventPartial
	}
	return EventDelivered
}
