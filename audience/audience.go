// Package audience describes whom an event reaches: the recipient
// specification stored with each event, and the roles users hold.
package audience

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// Role is a user's role in their tenant.
type Role string

const (
	Owner     Role = "owner"
	Member    Role = "member"
	Executive Role = "executive"
)

// Roles lists every role.
var Roles = []Role{Owner, Member, Executive}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// Spec is an event's stored recipient specification: named users, users
// holding a role, or everyone subscribed to the event's category.
type Spec struct {
	Users       []string `json:"users,omitempty"`
	Roles       []Role   `json:"roles,omitempty"`
	Subscribers bool     `json:"subscribers,omitempty"`
}

// RoleNames returns the roles as strings, for queries.
func (s Spec) RoleNames() []string {
	out := make([]string, len(s.Roles))
	for i, r := range s.Roles {
		out[i] = string(r)
	}
	return out
}

// Parse reads a stored specification.
func Parse(raw []byte) (Spec, error) {
	var s Spec
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("recipients: %w", err)
	}
	return s, nil
}

// userIDPattern bounds the IDs clients choose for users: printable, no
// slashes or spaces, so they are safe in paths and logs.
var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$`)

// ValidUserID reports whether id is a user ID the API accepts.
func ValidUserID(id string) bool { return userIDPattern.MatchString(id) }
