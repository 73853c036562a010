package lru

import (
	"strconv"
	"testing"
)

func TestCacheForgetsTheLeastRecentlyUsed(t *testing.T) {
	c := New[string, int](2)
	c.Add("a", 1)
	c.Add("b", 2)
	if v, ok := c.Get("a"); !ok || v != 1 { // a is now the most recent
		t.Fatalf("a = %v %v", v, ok)
	}
	c.Add("c", 3) // forgets b
	if _, ok := c.Peek("b"); ok {
		t.Error("b, the least recently used, was kept")
	}
	for k, want := range map[string]int{"a": 1, "c": 3} {
		if v, ok := c.Peek(k); !ok || v != want {
			t.Errorf("%s = %v %v, want %d", k, v, ok, want)
		}
	}
	c.Add("a", 10) // an update, not a new entry
	if v, _ := c.Get("a"); v != 10 || c.Len() != 2 {
		t.Errorf("after updating a: a = %d, %d entries", v, c.Len())
	}
	c.Remove("a")
	if _, ok := c.Get("a"); ok || c.Len() != 1 {
		t.Errorf("a still there after Remove (%d entries)", c.Len())
	}
	// Peek does not count as a use: c goes first.
	c.Add("d", 4)
	c.Peek("c")
	c.Add("e", 5)
	if _, ok := c.Peek("c"); ok {
		t.Error("Peek kept c")
	}
}

func TestCacheStaysWithinItsCapacity(t *testing.T) {
	c := New[string, struct{}](1000)
	for i := range 100_000 {
		c.Add(strconv.Itoa(i), struct{}{})
		if c.Len() > 1000 || len(c.items) > 1000 {
			t.Fatalf("%d entries after %d keys", c.Len(), i+1)
		}
	}
	if _, ok := c.Peek("99999"); !ok {
		t.Error("the newest key is gone")
	}
	if New[int, int](0).Cap() != 1 {
		t.Error("a capacity below 1 must hold one entry")
	}
}
