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

// Deferred labels, in herald_deliveries_total, a delivery that waits (for
// its next try or past quiet hours): an outcome of an attempt, never a
// stored status.
const Deferred = "deferred"

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
	// Collapsed: the event carried a group key, and the delivery waits in
	// its collapse window to go out as one notification with the others of
	// its type and key (digest_id links it to that notification then).
	Collapsed Reason = "collapsed"
	Duplicate Reason = "duplicate"
	// Suppressed skips an email to an address on the tenant's suppression
	// list: it refused mail for good before, or its owner complained.
	Suppressed Reason = "suppressed"
	// Throttled skips a notification over its event type's throttle: the
	// recipient had the type's most per window already.
	Throttled Reason = "throttled"
	// ThrottledHeld holds a notification over its event type's throttle
	// whose overflow is digest: it waits in the recipient's hold window for
	// the type on its channel, and goes out with the others held there as
	// one notification when the throttle's window ends (digest_id links it
	// to that notification then).
	ThrottledHeld Reason = "throttled_held"
	// UserDeleted cancels what was still pending for a deleted user.
	UserDeleted Reason = "user_deleted"
	// CancelledWithEvent cancels what was still pending of a cancelled event.
	CancelledWithEvent Reason = "event_cancelled"
	// ReadInApp skips an escalated delivery (escalated_from in_app): its
	// recipient read, saw, archived or snoozed the in-app item in time.
	ReadInApp Reason = "read_in_app"
	// Uncertain fails a message that left and whose answer never came (a
	// relay that never answered the end of its data): it may have arrived,
	// so Herald never sends it again by itself.
	Uncertain Reason = "uncertain"
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

// SuppressionReason says why an address is on a tenant's suppression list.
type SuppressionReason string

const (
	// Bounce: a relay refused a message for good because of the address.
	Bounce SuppressionReason = "bounce"
	// Complaint: the address's owner complained (reported as spam), as
	// told by POST /v1/suppressions.
	Complaint SuppressionReason = "complaint"
)

// Valid reports whether r is Bounce or Complaint.
func (r SuppressionReason) Valid() bool { return r == Bounce || r == Complaint }
