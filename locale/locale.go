// Package locale picks the language a recipient reads and writes numbers,
// plurals and dates the way that language does. Languages are BCP 47 tags
// (golang.org/x/text/language); the choice follows a fallback chain: the
// user's tag, its parents (de-AT, then de), the tenant's default, English.
package locale

import (
	"errors"
	"strings"

	"golang.org/x/text/language"
)

// Default is the language of the built-in templates' base text and the
// last step of every fallback chain.
var Default = language.English

// DefaultTag is Default as the API writes it: a tenant's locale unless it
// sets another.
const DefaultTag = "en"

// ErrInvalid is a tag that is not BCP 47.
var ErrInvalid = errors.New("not a BCP 47 language tag such as de-AT")

// Parse reads a BCP 47 tag and returns it canonical (de-at is de-AT).
// Tags without a language ("und", "und-AT", private use) are refused:
// nothing can be chosen for them.
func Parse(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", ErrInvalid
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", ErrInvalid
	}
	// A tag must name its language: "und" and "und-AT" leave x/text to
	// guess it (confidence below Exact).
	if _, conf := t.Base(); conf != language.Exact {
		return "", ErrInvalid
	}
	return t.String(), nil
}

// tag reads s leniently: a stored tag that no longer parses counts as none.
func tag(s string) (language.Tag, bool) {
	if s == "" {
		return language.Und, false
	}
	t, err := language.Parse(s)
	if err != nil || t == language.Und {
		return language.Und, false
	}
	return t, true
}

// Choose returns the index in available of the language to use for a
// reader who wants each of want in turn (the user's locale, then the
// tenant's default): the first that x/text's matcher finds with high
// confidence (de-AT finds de; gsw finds de; nl finds nothing), else the
// index of English, else 0. Empty and unparsable wants are skipped.
func Choose(available []string, want ...string) int {
	return NewChooser(available).Choose(want...)
}

// Chooser is Choose for one list of available languages. Building x/text's
// matcher costs far more than a match (it was an eighth of a 10,000-recipient
// fan-out's CPU when built per recipient), so a renderer builds it once.
// It is safe for concurrent use.
type Chooser struct {
	tags    []language.Tag
	matcher language.Matcher
	english int
}

// NewChooser prepares the choice among available (see Choose).
func NewChooser(available []string) *Chooser {
	c := &Chooser{tags: make([]language.Tag, len(available))}
	for i, a := range available {
		c.tags[i], _ = tag(a)
	}
	for i, t := range c.tags {
		if base, _ := t.Base(); base.String() == "en" {
			c.english = i
			break
		}
	}
	if len(c.tags) > 0 {
		c.matcher = language.NewMatcher(c.tags)
	}
	return c
}

// Choose returns the index of the language to use for a reader who wants
// each of want in turn, as the package's Choose does.
func (c *Chooser) Choose(want ...string) int {
	if c == nil || len(c.tags) == 0 {
		return 0
	}
	for _, w := range want {
		t, ok := tag(w)
		if !ok {
			continue
		}
		if _, i, conf := c.matcher.Match(t); conf >= language.High {
			return i
		}
	}
	return c.english
}

// First returns the first of want that parses, else Default: the tag
// whose numbers and dates a reader gets (de-AT keeps its own grouping even
// when its words are de).
func First(want ...string) language.Tag {
	for _, w := range want {
		if t, ok := tag(w); ok {
			return t
		}
	}
	return Default
}

// Pages are the languages of the pages Herald serves (unsubscribe, ...).
var Pages = []string{DefaultTag, "de", "fr"}

var pages = NewChooser(Pages)

// Page is the language of a page for a reader who wants each of want in
// turn (their locale, the tenant's), then what their browser's
// Accept-Language header asks for, then English.
func Page(acceptLanguage string, want ...string) language.Tag {
	if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil {
		for _, t := range tags {
			want = append(want, t.String())
		}
	}
	return language.Make(Pages[pages.Choose(want...)])
}
