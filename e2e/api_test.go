package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The views below are the API's answers as the tests read them: each lists
// the fields tests look at. A field tagged without omitempty is one the API
// always sends; decodeAs fails a test whose answer lacks it.

// accepted is POST /v1/events' answer.
type accepted struct {
	EventID    string `json:"event_id"`
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Duplicate  bool   `json:"duplicate"`
}

// eventView is GET /v1/events/{id}'s answer. Truncated and Next are sent
// only when the event has more deliveries than the answer lists.
type eventView struct {
	EventID        string          `json:"event_id"`
	Type           string          `json:"type"`
	Status         string          `json:"status"`
	WorkflowID     string          `json:"workflow_id"`
	WorkflowStatus string          `json:"workflow_status"`
	Data           json.RawMessage `json:"data"`
	Deliveries     []deliveryView  `json:"deliveries"`
	Truncated      *bool           `json:"deliveries_truncated,omitempty"`
	Next           string          `json:"deliveries_next,omitempty"`
}

// deliveryView is a delivery, in an event's answer and in the delivery log.
type deliveryView struct {
	ID          string     `json:"id"`
	EventID     string     `json:"event_id"`
	UserID      string     `json:"user_id"`
	Target      string     `json:"target,omitempty"`
	Channel     string     `json:"channel"`
	Status      string     `json:"status"`
	Reason      string     `json:"reason"`
	Attempts    int        `json:"attempts"`
	NotBefore   *time.Time `json:"not_before"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Error       string     `json:"error"`
	DigestID    *string    `json:"digest_id,omitempty"`
	Relay       string     `json:"relay,omitempty"`
	// EscalatedFrom is in_app on a delivery an escalation held.
	EscalatedFrom string `json:"escalated_from,omitempty"`
}

// inboxItem is a notification. DataTruncated is sent in lists when data was
// left out for its size.
type inboxItem struct {
	ID            string          `json:"id"`
	EventID       string          `json:"event_id"`
	Title         string          `json:"title"`
	Link          string          `json:"link"`
	Data          json.RawMessage `json:"data"`
	DataTruncated *bool           `json:"data_truncated,omitempty"`
	Read          bool            `json:"read"`
	Seen          bool            `json:"seen"`
	Archived      bool            `json:"archived"`
	SnoozedUntil  *time.Time      `json:"snoozed_until"`
}

// issueData is the data of the events assignEvent builds.
type issueData struct {
	IssueKey string `json:"issue_key"`
}

// userView is a user.
type userView struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	Timezone    string `json:"timezone"`
	Role        string `json:"role"`
	SlackUserID string `json:"slack_user_id"`
}

// eventTypeView is an entry of the event-type catalog.
type eventTypeView struct {
	Key string `json:"key"`
}

// listPage is one page of any list: next_cursor is null on the last page.
type listPage[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// countView is the unread count's answer, markedView mark_all_read's.
type countView struct {
	Count  int `json:"count"`
	Unseen int `json:"unseen"`
}

type markedView struct {
	Marked int `json:"marked"`
}

// statusView is /readyz's answer.
type statusView struct {
	Status string `json:"status"`
}

// openAPIView is the part of /openapi.json that names the document's version.
type openAPIView struct {
	OpenAPI string `json:"openapi"`
}

// apiError is the contract's error body.
type apiError struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details,omitempty"`
	} `json:"error"`
}

// errorBody reads the answer as an error body; an answer that is not one
// reads as the zero value, so a check on its code fails with the answer.
func (r response) errorBody() apiError {
	var e apiError
	_ = json.Unmarshal(r.raw, &e)
	return e
}

func (r response) errCode() string { return r.errorBody().Error.Code }

// decodeAs decodes an answer into a view. A field the view declares without
// omitempty must be in the answer, and null only where the view's type can
// hold null: a check against a zero value must not pass because the API left
// the field out.
func decodeAs[T any](t testing.TB, r response) T {
	t.Helper()
	return unmarshalAs[T](t, r.raw)
}

// unmarshalAs is decodeAs for JSON held in a view, such as an event's data.
func unmarshalAs[T any](t testing.TB, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decoding %T: %v: %s", v, err, raw)
	}
	if problem := misfit(reflect.TypeOf(v), raw, ""); problem != "" {
		t.Fatalf("decoding %T: %s: %s", v, problem, raw)
	}
	return v
}

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

// nullable reports whether a JSON null decodes into typ as something a
// check can tell from a zero value.
func nullable(typ reflect.Type) bool {
	switch typ.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return reflect.PointerTo(typ).Implements(unmarshaler)
}

// misfit names the first field typ requires that raw lacks or has as an
// unexpected null, or returns "" when raw fits.
func misfit(typ reflect.Type, raw []byte, path string) string {
	if string(raw) == "null" {
		return ""
	}
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	// time.Time, json.RawMessage and the like decode themselves.
	if reflect.PointerTo(typ).Implements(unmarshaler) {
		return ""
	}
	switch typ.Kind() {
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return ""
		}
		for i, item := range items {
			if p := misfit(typ.Elem(), item, fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			return ""
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			v, ok := fields[name]
			switch {
			case !ok && strings.Contains(opts, "omitempty"):
				continue
			case !ok:
				return "no " + path + "." + name
			case string(v) == "null" && !nullable(f.Type):
				return path + "." + name + " is null"
			}
			if p := misfit(f.Type, v, path+"."+name); p != "" {
				return p
			}
		}
	}
	return ""
}

// postEvent posts an event that must be accepted.
func (tn *tenant) postEvent(body any, headers ...string) accepted {
	tn.t.Helper()
	return decodeAs[accepted](tn.t, tn.must(202, tn.do("POST", "/v1/events", body, headers...)))
}

// event returns the event as GET /v1/events/{id} answers now.
func (tn *tenant) event(id string) eventView {
	tn.t.Helper()
	return decodeAs[eventView](tn.t, tn.must(200, tn.do("GET", "/v1/events/"+id, nil)))
}

// waitSettled polls the event until it is no longer pending.
func (tn *tenant) waitSettled(id string, within time.Duration) eventView {
	tn.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev := tn.event(id)
		if ev.Status != "pending" {
			return ev
		}
		if time.Now().After(deadline) {
			tn.t.Fatalf("event %s still pending after %v: %+v", id, within, ev)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
