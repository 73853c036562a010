// Package lru is a map with a fixed capacity that forgets its least
// recently used entry to make room: caches and per-client state keyed by
// what a client sends stay bounded however many distinct keys arrive.
package lru

import "container/list"

// Cache holds at most its capacity of entries. It is not safe for
// concurrent use; callers hold their own lock.
type Cache[K comparable, V any] struct {
	capacity int
	order    *list.List // front: most recently used
	items    map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key   K
	value V
}

// New returns an empty cache holding at most capacity entries (at least 1).
func New[K comparable, V any](capacity int) *Cache[K, V] {
	capacity = max(capacity, 1)
	return &Cache[K, V]{capacity: capacity, order: list.New(), items: make(map[K]*list.Element, min(capacity, 1024))}
}

// Get returns k's value and marks it used.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*entry[K, V]).value, true
	}
	var zero V
	return zero, false
}

// Peek returns k's value without marking it used.
func (c *Cache[K, V]) Peek(k K) (V, bool) {
	if e, ok := c.items[k]; ok {
		return e.Value.(*entry[K, V]).value, true
	}
	var zero V
	return zero, false
}

// Add sets k's value and marks it used, forgetting the least recently used
// entry when the cache is full.
func (c *Cache[K, V]) Add(k K, v V) {
	if e, ok := c.items[k]; ok {
		e.Value.(*entry[K, V]).value = v
		c.order.MoveToFront(e)
		return
	}
	if c.order.Len() >= c.capacity {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.items, oldest.Value.(*entry[K, V]).key)
	}
	c.items[k] = c.order.PushFront(&entry[K, V]{key: k, value: v})
}

// Remove forgets k.
func (c *Cache[K, V]) Remove(k K) {
	if e, ok := c.items[k]; ok {
		c.order.Remove(e)
		delete(c.items, k)
	}
}

// Len is the number of entries.
func (c *Cache[K, V]) Len() int { return c.order.Len() }

// Cap is the most entries the cache holds.
func (c *Cache[K, V]) Cap() int { return c.capacity }
