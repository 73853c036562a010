// Package seal encrypts and authenticates (AES-256-GCM) what Herald must
// keep from readers under a key derived from HERALD_SIGNING_KEY: the tokens
// in links (one-click unsubscribe now; approval and inbox links later) and
// integration secrets at rest.
//
// Links travel in emails, mail logs and browser histories, so they carry no
// readable personal data, and a tampered or forged token is refused. Each
// sealed value is bound to its purpose, so one kind can never be opened as
// another.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// version leads every token, so the format can change without ambiguity.
const version = 1

// MinKeyLen is the shortest signing key accepted.
const MinKeyLen = 32

// ErrInvalid is every refusal: malformed, tampered, forged, or sealed for
// another purpose. Callers need not tell them apart, and must not tell a
// visitor which it was.
var ErrInvalid = errors.New("invalid or tampered token")

// Sealer seals and opens tokens under one signing key.
type Sealer struct {
	aead cipher.AEAD
	// nonces derives the nonce of a deterministic token (SealFixed).
	nonces []byte
}

// New derives the sealing key from the signing key.
func New(signingKey string) (*Sealer, error) {
	if len(signingKey) < MinKeyLen {
		return nil, fmt.Errorf("the signing key must be at least %d characters", MinKeyLen)
	}
	// A derived key, so the signing key itself never keys a cipher and other
	// uses of it (HMACs) stay independent of this one.
	mac := hmac.New(sha256.New, []byte(signingKey))
	mac.Write([]byte("herald link tokens v1")) // the derivation label predates secrets; kept so tokens in sent emails still open
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nm := hmac.New(sha256.New, []byte(signingKey))
	nm.Write([]byte("herald fixed token nonces v1"))
	return &Sealer{aead: aead, nonces: nm.Sum(nil)}, nil
}

// Seal returns a URL-safe token carrying payload for purpose.
func (s *Sealer) Seal(purpose string, payload []byte) string {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("seal: no randomness: " + err.Error())
	}
	out := append([]byte{version}, nonce...)
	out = s.aead.Seal(out, nonce, payload, []byte(purpose))
	return base64.RawURLEncoding.EncodeToString(out)
}

// Open returns the payload of a token sealed for purpose.
func (s *Sealer) Open(purpose, token string) ([]byte, error) {
	if len(token) > 4096 {
		return nil, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	n := s.aead.NonceSize()
	if err != nil || len(raw) < 1+n+s.aead.Overhead() || raw[0] != version {
		return nil, ErrInvalid
	}
	payload, err := s.aead.Open(nil, raw[1:1+n], raw[1+n:], []byte(purpose))
	if err != nil {
		return nil, ErrInvalid
	}
	return payload, nil
}
