package catalog

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/heraldhq/herald/branding"
	"github.com/heraldhq/herald/locale"
)

// Recipient is what templates may know of the person they are addressed to.
type Recipient struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	// Locale (BCP 47) and Timezone (IANA) choose the variant of the
	// templates and how numbers and dates read; empty means the tenant's.
	Locale   string `json:"locale,omitempty"`
	Timezone string `json:"timezone,omitempty"`
}

// vars is the recipient as templates see it: .user.id, .user.name and
// .user.email, lower-case like the event's data.
func (u Recipient) vars() map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "email": u.Email}
}

// Content is a rendered notification.
type Content struct {
	Subject string
	Body    string // the rendered text alone: the inbox item's body
	Text    string // the email's text part (Email only)
	HTML    string // the email's HTML part (Email only)
	// Lang is the language of the variant rendered ("en", "de"): the
	// email's Content-Language. Locale is the tag its numbers and dates
	// were written for ("de-AT"), and Action the label of a button to the
	// event's link, in that language.
	Lang, Locale, Action string
}

// Hash identifies the content for the delivery log.
func (c Content) Hash() []byte {
	h := sha256.New()
	for _, s := range []string{c.Subject, c.Text, c.HTML} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// Renderer renders one event type's templates; parse once, execute per recipient.
type Renderer struct {
	// Tenant names the sender in the email footer ("you are a member of …").
	Tenant string
	// Brand is the tenant's branding: the product name in the footer, the
	// logo and accent colour of the HTML layout, the footer text.
	Brand branding.Branding
	// Locale is the tenant's default language (BCP 47): the reader's when
	// they set none or one the type has no variant for. Empty is English.
	Locale string
	// Zone is the tenant's time zone: dates for readers without their own.
	Zone string

	// variants are the parsed templates by language; tags[i] is
	// variants[i]'s, English first.
	variants []*variant
	tags     []string
	chooser  *locale.Chooser // among tags
	typ      EventType
	// literal is a bound the templates exceed whatever the data (see Check).
	literal *BoundError
}

// variant is one language's parsed templates.
type variant struct {
	lang          string
	subject, text *template.Template
	html          *htmltemplate.Template // nil: use the layout
	action        string                 // "": the language's "View details"
}

// Sender is who a Slack message says it comes from: the tenant's product
// name when its branding sets one, else the tenant's name.
func (r *Renderer) Sender() string {
	if r.Brand.ProductName != "" {
		return r.Brand.ProductName
	}
	return r.Tenant
}

// noValue is what text/template prints for a missing map key; a template that
// names a field the event did not carry should print nothing, not "<no value>".
const noValue = "<no value>"

// NewRenderer parses t's templates, every language's; an error means the
// templates are invalid, and names the variant ("locales.de.subject").
// Every render is bounded (see MaxPartBytes and the bounds beside it): a
// render that exceeds a bound fails with a *BoundError.
func NewRenderer(t EventType) (*Renderer, error) {
	r := &Renderer{typ: t, tags: t.Templates.LocaleTags()}
	r.chooser = locale.NewChooser(r.tags)
	base := t.Templates
	if base.Subject == "" {
		base.Subject = t.Title
	}
	for _, tag := range r.tags {
		tp, prefix := base, ""
		if tag != locale.DefaultTag {
			v := t.Templates.Locales[tag]
			if len(v.Locales) > 0 {
				return nil, fmt.Errorf("locales.%s: a variant has no locales of its own", tag)
			}
			tp = Templates{Subject: cmp.Or(v.Subject, base.Subject), Text: cmp.Or(v.Text, base.Text), HTML: v.HTML, Action: v.Action}
			if v.HTML == "" && v.Text == "" {
				// Nothing of its own to lay out: the English HTML, as the text.
				tp.HTML = base.HTML
			}
			prefix = "locales." + tag + "."
		}
		v, err := r.parse(prefix, tp)
		if err != nil {
			return nil, err
		}
		v.lang = tag
		r.variants = append(r.variants, v)
	}
	return r, nil
}

func (r *Renderer) parse(prefix string, t Templates) (*variant, error) {
	v := &variant{action: t.Action}
	var err error
	if v.subject, err = guardText(prefix+"subject", t.Subject); err != nil {
		return nil, cleanError(err)
	}
	r.checkLiterals(prefix+"subject", v.subject.Root)
	if v.text, err = guardText(prefix+"text", t.Text); err != nil {
		return nil, cleanError(err)
	}
	r.checkLiterals(prefix+"text", v.text.Root)
	if t.HTML != "" {
		if v.html, err = guardHTML(prefix+"html", t.HTML); err != nil {
			return nil, cleanError(err)
		}
		r.checkLiterals(prefix+"html", v.html.Tree.Root)
	}
	return v, nil
}

func (r *Renderer) checkLiterals(name string, root *parse.ListNode) {
	if n := literalItems(root); n > MaxRangeItems && r.literal == nil {
		r.literal = &BoundError{Template: name, Bound: BoundRange, Detail: fmt.Sprintf(
			"its ranges over numbers take %s items whatever the data (at most %s range iterations per render)", count(fmt.Sprintf("%.0f", n)), count(MaxRangeItems))}
	}
}

// Check reports a bound the templates exceed whatever the data, so that
// they can be refused when stored with a clear reason: ranges over integer
// literals ({{range 3000}}{{range 3000}}) of more than MaxRangeItems in
// all. Rendering stops at every bound, these included.
func (r *Renderer) Check() error {
	if r.literal != nil {
		return r.literal
	}
	return nil
}

// Language is the language user reads the type in: the tag of the
// variant their locale comes to by the fallback chain.
func (r *Renderer) Language(user Recipient) string { return r.readerOf(user).v.lang }

// Languages lists the languages the type has templates in, English first.
func (r *Renderer) Languages() []string { return slices.Clone(r.tags) }

// reader is who a render is for: the variant of their language, and how
// its numbers and dates read.
type reader struct {
	v      *variant
	format locale.Format
	zone   *time.Location
}

// readerOf picks user's variant by the fallback chain (their locale, its
// parents, the tenant's default, English). Numbers and dates follow the
// user's own tag when the variant is in its language (de-AT groups
// thousands as Austria does), else the variant's.
func (r *Renderer) readerOf(user Recipient) reader {
	v := r.variants[r.chooser.Choose(user.Locale, r.Locale)]
	tag := locale.First(v.lang)
	if want := locale.First(user.Locale, r.Locale, v.lang); sameLanguage(want, tag) {
		tag = want
	}
	return reader{v: v, format: locale.For(tag), zone: locale.Zone(user.Timezone, r.Zone)}
}

func sameLanguage(a, b language.Tag) bool {
	x, _ := a.Base()
	y, _ := b.Base()
	return x == y
}

func (rd reader) budget(try int) *budget {
	b := newBudgetFor(try)
	b.format, b.zone = rd.format, rd.zone
	return b
}

// Notice renders the short form a recipient reads in the inbox: the
// subject as a title and the text as a body, without the email's framing.
func (r *Renderer) Notice(data map[string]any, user Recipient, link string) (Content, error) {
	vars, rd := r.vars(data, user, link), r.readerOf(user)
	return retried(func(try int) (Content, error) { return r.notice(rd.budget(try), rd.v, vars) })
}

// retried renders again, with a fresh budget of twice the time, a render
// that ran out of time, up to timeTries in all (100, 200, then 400 ms):
// time is the one bound that depends on the machine, and a pause of the
// whole process or a starved core (a garbage collection, a loaded machine,
// many renders at once) must not fail a delivery. A template slow in
// itself costs at most the sum and fails every time. Renders have no
// effects, so running one again changes nothing else.
func retried(render func(try int) (Content, error)) (Content, error) {
	c, err := render(0)
	for try := 1; try < timeTries && TimedOut(err); try++ {
		c, err = render(try)
	}
	return c, err
}

// timeTries is how many times a render that runs out of time is tried.
const timeTries = 3

// TimedOut reports a render that ran out of time: unlike the other bounds,
// which the template and its data decide, it may pass on another try.
func TimedOut(err error) bool {
	var bound *BoundError
	return errors.As(err, &bound) && bound.Bound == BoundTime
}

// vars are what templates see: .data, .user, .link and .type.
func (r *Renderer) vars(data map[string]any, user Recipient, link string) map[string]any {
	return map[string]any{"data": exactNumbers(data), "user": user.vars(), "link": link, "type": r.typ.Key}
}

func (r *Renderer) notice(b *budget, v *variant, vars map[string]any) (Content, error) {
	c := Content{Lang: v.lang, Locale: b.format.Tag.String(), Action: v.action}
	if c.Action == "" {
		c.Action = locale.Printer(b.format.Tag).Sprintf("View details")
	}
	var err error
	if c.Subject, err = r.exec(b, "subject", v.subject, vars); err != nil {
		return c, err
	}
	if strings.TrimSpace(c.Subject) == "" {
		// A subject made only of data the event did not carry: an empty
		// inbox title or mail subject would be worse than a generic one.
		c.Subject = cmp.Or(strings.TrimSpace(r.typ.Title), r.typ.Key)
	}
	// A subject is one line: a newline in it would let data forge mail headers.
	c.Subject = strings.Join(strings.Fields(c.Subject), " ")
	if c.Body, err = r.exec(b, "text", v.text, vars); err != nil {
		return c, err
	}
	c.Body = strings.TrimSpace(c.Body)
	return c, nil
}

// Email renders the whole email for one recipient: the notice with a
// greeting, the link as a labelled button, the footer, and the HTML part.
func (r *Renderer) Email(data map[string]any, user Recipient, link string) (Content, error) {
	vars, rd := r.vars(data, user, link), r.readerOf(user)
	return retried(func(try int) (Content, error) { return r.email(rd.budget(try), rd.v, vars, user, link) })
}

func (r *Renderer) email(b *budget, v *variant, vars map[string]any, user Recipient, link string) (Content, error) {
	c, err := r.notice(b, v, vars)
	if err != nil {
		return c, err
	}
	p := locale.Printer(b.format.Tag)
	greeting := p.Sprintf("Hi,")
	if first := strings.Fields(user.Name); len(first) > 0 {
		greeting = p.Sprintf("Hi %s,", first[0])
	}
	c.Text = greeting + "\n\n" + c.Body
	action := c.Action
	if link != "" {
		c.Text += "\n\n" + action + ": " + link
	}
	c.Text += "\n\n-- \n"
	if r.Brand.Footer != "" {
		c.Text += r.Brand.Footer + "\n"
	}
	c.Text += r.footer(p)
	if len(c.Text) > MaxPartBytes {
		b.part = "text"
		return Content{}, b.exceeded(BoundOutput, "the email's text part is over %d KiB (at most %d KiB per part)", MaxPartBytes>>10, MaxPartBytes>>10)
	}
	if v.html != nil {
		c.HTML, err = r.exec(b, "html", v.html, vars)
		return c, err
	}
	b.part = "html"
	w := &partWriter{b: b}
	err = layout.Execute(w, map[string]any{
		"Subject": c.Subject, "Greeting": greeting, "Paragraphs": paragraphs(c.Body),
		"Preheader": firstLine(c.Body), "Link": link, "Action": action, "Footer": r.footer(p), "Lang": c.Lang,
		"Product": r.Brand.Product(), "Logo": r.Brand.LogoURL, "Accent": r.Brand.Accent(), "Note": r.Brand.Footer,
	})
	c.HTML = w.buf.String()
	return c, cleanError(err)
}

// executor is a text or an HTML template.
type executor interface {
	Execute(w io.Writer, data any) error
}

// exec renders one part under the render's budget, which the template's
// first action takes out of its data (see guard.go).
func (r *Renderer) exec(b *budget, part string, t executor, vars map[string]any) (string, error) {
	b.part = part
	vars[budgetKey] = b
	defer delete(vars, budgetKey)
	w := &partWriter{b: b}
	if err := t.Execute(w, vars); err != nil {
		return "", cleanError(err)
	}
	return strings.ReplaceAll(w.buf.String(), noValue, ""), nil
}

func (r *Renderer) footer(p *message.Printer) string {
	if r.Tenant == "" {
		return p.Sprintf("You received this because you are a member of a team on %s.", r.Brand.Product())
	}
	return p.Sprintf("You received this because you are a member of %s on %s.", r.Tenant, r.Brand.Product())
}

// paragraph is a block of the email body: text, or a quotation when every
// line of it was marked with "> ".
type paragraph struct {
	Text  string
	Quote bool
}

func paragraphs(body string) []paragraph {
	var out []paragraph
	for _, block := range strings.Split(body, "\n\n") {
		lines := strings.Split(block, "\n")
		quoted := true
		for i, l := range lines {
			if l != ">" && !strings.HasPrefix(l, "> ") {
				quoted = false
				break
			}
			lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, ">"), " ")
		}
		if quoted {
			out = append(out, paragraph{Text: strings.Join(lines, "\n"), Quote: true})
		} else if strings.TrimSpace(block) != "" {
			out = append(out, paragraph{Text: block})
		}
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(strings.TrimPrefix(line, ">"))
}

// layout is the HTML email for types without their own HTML template:
// table-based and styled inline, as mail clients (Outlook included) need.
var layout = htmltemplate.Must(htmltemplate.New("layout").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f5f5f7;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1d1f">
<span style="display:none;max-height:0;overflow:hidden;opacity:0">{{.Preheader}}</span>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f5f5f7"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px;border-top:4px solid {{.Accent}}">
<tr><td style="padding:24px">
{{with .Logo}}<img src="{{.}}" alt="{{$.Product}}" height="32" style="display:block;height:32px;width:auto;max-width:200px;border:0;margin:0 0 16px">
{{end}}<h1 style="font-size:18px;line-height:1.3;margin:0 0 16px">{{.Subject}}</h1>
<p style="font-size:15px;line-height:1.5;margin:0 0 12px">{{.Greeting}}</p>
{{range .Paragraphs}}{{if .Quote}}<blockquote style="margin:0 0 12px;padding:8px 12px;border-left:3px solid #c7c7cc;color:#3a3a3c;font-size:15px;line-height:1.5;white-space:pre-line">{{.Text}}</blockquote>
{{else}}<p style="font-size:15px;line-height:1.5;margin:0 0 12px;white-space:pre-line">{{.Text}}</p>
{{end}}{{end}}{{if .Link}}<p style="margin:20px 0 0"><a href="{{.Link}}" style="display:inline-block;background:{{.Accent}};color:#ffffff;text-decoration:none;padding:10px 16px;border-radius:6px;font-size:15px">{{.Action}}</a></p>
{{end}}</td></tr></table>
{{with .Note}}<p style="font-size:12px;line-height:1.5;color:#6e6e73;margin:16px 0 0;white-space:pre-line">{{.}}</p>
{{end}}<p style="font-size:12px;line-height:1.5;color:#6e6e73;margin:16px 0 0">{{.Footer}}</p>
</td></tr></table>
</body></html>
`))

// WithUnsubscribe adds a visible unsubscribe link, naming the category it
// stops, to an email's footer (text and HTML). The link is per recipient,
// so it is added after the content hash, which identifies the notification.
func WithUnsubscribe(c Content, link, category string) Content {
	lang := locale.First(c.Lang)
	pr := locale.Printer(lang)
	name := category // English names categories by their keys: "Stop issues emails"
	if !sameLanguage(lang, locale.Default) {
		names := strings.Split(category, ", ") // a digest's list of categories
		for i, n := range names {
			names[i] = locale.Category(lang, n)
		}
		name = strings.Join(names, ", ")
	}
	c.Text += "\n" + pr.Sprintf("Stop %s emails: %s", name, link)
	p := `<p style="font-size:12px;line-height:1.5;color:#6e6e73;margin:8px 0 0;text-align:center">` +
		`<a href="` + html.EscapeString(link) + `" style="color:#6e6e73">` +
		html.EscapeString(pr.Sprintf("Unsubscribe from %s emails", name)) + `</a></p>` + "\n"
	if i := strings.LastIndex(strings.ToLower(c.HTML), "</body>"); i >= 0 {
		c.HTML = c.HTML[:i] + p + c.HTML[i:]
	} else {
		c.HTML += p
	}
	return c
}
