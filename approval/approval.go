// Package approval is the vocabulary of approvals, shared by the API, the
// Approval workflow and its activities: statuses, decisions, what the
// history records, and the idempotency keys of what an approval emits.
package approval

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"
)

// Status is an approval's state.
type Status string

const (
	Pending   Status = "pending"
	Approved  Status = "approved"
	Rejected  Status = "rejected"
	Expired   Status = "expired"
	Withdrawn Status = "withdrawn"
)

// Closed reports whether s is final.
func (s Status) Closed() bool { return s != Pending && s != "" }

// Decision is an approver's answer.
type Decision string

const (
	Approve Decision = "approve"
	Reject  Decision = "reject"
)

// Valid reports whether d is approve or reject.
func (d Decision) Valid() bool { return d == Approve || d == Reject }

// Status is the approval's status after d.
func (d Decision) Status() Status {
	if d == Approve {
		return Approved
	}
	return Rejected
}

// Kind is what a history row records.
type Kind string

const (
	Asked          Kind = "asked"
	Reminded       Kind = "reminded"
	Escalated      Kind = "escalated"
	ExecutiveAlert Kind = "executive_alert"
	Decided        Kind = "decided"
	ExpiredKind    Kind = "expired"
	WithdrawnKind  Kind = "withdrawn"
	Callback       Kind = "callback"
)

// Event types an approval emits.
const (
	TypeRequested      = "approval.requested"
	TypeReminder       = "approval.reminder"
	TypeEscalated      = "approval.escalated"
	TypeExecutiveAlert = "approval.executive_alert"
	// TypeOutcome tells the requester how their approval ended, and the
	// approvers that it was withdrawn.
	TypeOutcome = "approval.outcome"
)

// Key is the idempotency key of one emission (and of its history row):
// "approval:<id>:<kind>:<level>:<n>:<user>". A retried activity makes the
// same key, so nobody is told twice.
// A key longer than an idempotency key may be (a long id and user) is
// hashed instead.
func Key(id string, kind Kind, level, n int, user string) string {
	k := fmt.Sprintf("approval:%s:%s:%d:%d:%s", id, kind, level, n, user)
	if len(k) <= maxKey {
		return k
	}
	h := sha256.Sum256([]byte(k))
	return fmt.Sprintf("approval:%s:%d:%d:%x", kind, level, n, h)
}

// maxKey is intake's longest idempotency key.
const maxKey = 255

// Limits on a request.
const (
	MaxIDLen        = 200
	MaxLevels       = 10
	MaxApprovers    = 50
	MaxTitleLen     = 300
	MaxDescription  = 10000
	MaxComment      = 2000
	MinTimeout      = time.Minute
	MaxTotalTimeout = 366 * 24 * time.Hour
)

// ParseDuration reads "24h", "90m", "2h30m"; and "7d" as days, which
// Go's durations lack.
func ParseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err != nil || fmt.Sprint(n) != d || n <= 0 {
			return 0, fmt.Errorf("%q is not a duration like 24h, 90m or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 24h, 90m or 7d", s)
	}
	return v, nil
}
