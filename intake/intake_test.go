package intake

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald/personal"
)

func TestMissingIDsCountsAllAndNamesTwenty(t *testing.T) {
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprint("u", i), fmt.Sprint("u", i)) // each twice
	}
	missing, n := MissingIDs(want, []string{"u0", "u1"})
	if n != 28 || len(missing) != 20 || missing[0] != "u2" {
		t.Errorf("missing %v (%d), n %d: want 28 counted once each, 20 named from u2", missing, len(missing), n)
	}
	if _, n := MissingIDs([]string{"a"}, []string{"a"}); n != 0 {
		t.Errorf("n = %d for nothing missing", n)
	}
}

// decodeData decodes as the API does: numbers keep their text.
func decodeData(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRequestHashTellsNumbersApartPast2To53(t *testing.T) {
	a := Request{Type: "x.y", Data: decodeData(t, `{"n": 9007199254740993}`)}
	b := Request{Type: "x.y", Data: decodeData(t, `{"n": 9007199254740992}`)}
	if bytes.Equal(requestHash(a), requestHash(b)) {
		t.Error("bodies differing past 2^53 hash the same")
	}
	c := Request{Type: "x.y", Data: decodeData(t, `{"n": 9007199254740993}`)}
	if !bytes.Equal(requestHash(a), requestHash(c)) {
		t.Error("the same body hashes differently")
	}
	// Recipient order does not make a different event.
	d := Request{Type: "x.y", Recipients: &Recipients{Users: []string{"b", "a"}}}
	e := Request{Type: "x.y", Recipients: &Recipients{Users: []string{"a", "b"}}}
	if !bytes.Equal(requestHash(d), requestHash(e)) {
		t.Error("recipient order changed the hash")
	}
}

// A personal link reaches its owner alone: the event must name them as its
// one recipient, and only Herald may give one.
func TestPersonalLinkNamesItsOwnerAlone(t *testing.T) {
	own := &personal.Link{Kind: personal.KindApproval, ApprovalID: "po-1", Approver: "ada", Expires: time.Unix(1_800_000_000, 0)}
	ok := Request{Herald: true, Recipients: &Recipients{Users: []string{"ada"}}, Personal: own}
	if err := validatePersonal(&ok); err != nil {
		t.Fatalf("ada's own link: %v", err)
	}
	for name, r := range map[string]Request{
		"another recipient":   {Herald: true, Recipients: &Recipients{Users: []string{"bob"}}, Personal: own},
		"two recipients":      {Herald: true, Recipients: &Recipients{Users: []string{"ada", "bob"}}, Personal: own},
		"a role":              {Herald: true, Recipients: &Recipients{Users: []string{"ada"}, Roles: []string{"owner"}}, Personal: own},
		"the type's audience": {Herald: true, Personal: own},
		"not Herald":          {Recipients: &Recipients{Users: []string{"ada"}}, Personal: own},
		"no expiry": {Herald: true, Recipients: &Recipients{Users: []string{"ada"}},
			Personal: &personal.Link{Kind: personal.KindApproval, ApprovalID: "po-1", Approver: "ada"}},
	} {
		var ie *Error
		if err := validatePersonal(&r); !errors.As(err, &ie) || ie.Code != "invalid_field" {
			t.Errorf("%s: %v, want invalid_field", name, err)
		}
	}
	// The description is part of what a key stands for.
	other := ok
	other.Personal = &personal.Link{Kind: personal.KindApproval, ApprovalID: "po-2", Approver: "ada", Expires: own.Expires}
	if bytes.Equal(requestHash(ok), requestHash(other)) {
		t.Error("two personal links hash the same")
	}
	// Without one, a request hashes as it did before personal links, so
	// stored events still answer their repeats.
	plain := Request{Type: "x.y", Recipients: &Recipients{Users: []string{"ada"}}, Link: "https://app.example/1"}
	before, _ := json.Marshal(struct {
		Type       string         `json:"type"`
		Recipients *Recipients    `json:"recipients"`
		Data       map[string]any `json:"data"`
		Urgent     bool           `json:"urgent"`
		SendAt     *time.Time     `json:"send_at"`
		Link       string         `json:"link"`
	}{plain.Type, plain.Recipients, nil, false, nil, plain.Link})
	if h := sha256.Sum256(before); !bytes.Equal(requestHash(plain), h[:]) {
		t.Error("an event without a personal link hashes differently than before")
	}
}
