package intake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
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
