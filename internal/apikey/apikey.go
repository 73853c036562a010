// Package apikey makes and checks tenant API keys. Only a key's hash is
// stored; the key itself is shown once, when it is created.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Prefix starts every key, so leaked keys are easy to scan for.
const Prefix = "hk_"

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a fresh random key.
func New() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return Prefix + strings.ToLower(encoding.EncodeToString(b))
}

// Hash is what the database stores and looks keys up by.
func Hash(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Display is the part of a key that may be shown after creation.
func Display(key string) string {
	if len(key) < len(Prefix)+6 {
		return Prefix + "…"
	}
	return key[:len(Prefix)+6] + "…"
}

// Plausible reports whether s looks like a key at all, to refuse junk cheaply.
func Plausible(s string) bool {
	return strings.HasPrefix(s, Prefix) && len(s) >= len(Prefix)+16 && len(s) <= 200
}
