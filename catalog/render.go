package catalog

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"html"
	htmltemplate "html/template"
	"strings"
	"text/template"
)

// Recipient is what templates may know of the person they are addressed to.
type Recipient struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
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

	subject, text *template.Template
	html          *htmltemplate.Template // nil: use the layout
	typ           EventType
}

// funcs are available to every template. Each takes any data value: a
// number arrives as json.Number (see DecodeData), a missing key as nil.
var funcs = template.FuncMap{
	"quote":   quote,   // {{quote .data.reply}}: "> " before every line
	"count":   count,   // {{count .data.sent}}: 1,000,000
	"counted": counted, // {{counted .data.replies "reply" "replies"}}: 3 replies; nothing when missing
	"join":    join,    // {{join " at " .data.persona .data.company}}: the known parts only
	"pairs":   pairs,   // {{range pairs .data.fields}}{{.Key}}: {{.Value}}{{end}}: an object's entries in key order
	"rate":    Rate,    // {{rate .data.replies .data.sent}}: 1.5%; nothing when either is missing
}

// noValue is what text/template prints for a missing map key; a template that
// names a field the event did not carry should print nothing, not "<no value>".
const noValue = "<no value>"

// NewRenderer parses t's templates; an error means the templates are invalid.
func NewRenderer(t EventType) (*Renderer, error) {
	r := &Renderer{typ: t}
	var err error
	subj := t.Templates.Subject
	if subj == "" {
		subj = t.Title
	}
	if r.subject, err = template.New("subject").Funcs(funcs).Parse(subj); err != nil {
		return nil, err
	}
	if r.text, err = template.New("text").Funcs(funcs).Parse(t.Templates.Text); err != nil {
		return nil, err
	}
	if t.Templates.HTML != "" {
		if r.html, err = htmltemplate.New("html").Funcs(htmltemplate.FuncMap(funcs)).Parse(t.Templates.HTML); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Notice renders the short form a recipient reads in the inbox: the
// subject as a title and the text as a body, without the email's framing.
func (r *Renderer) Notice(data map[string]any, user Recipient, link string) (Content, error) {
	vars := map[string]any{"data": exactNumbers(data), "user": user.vars(), "link": link, "type": r.typ.Key}
	var c Content
	var err error
	if c.Subject, err = execText(r.subject, vars); err != nil {
		return c, err
	}
	if strings.TrimSpace(c.Subject) == "" {
		// A subject made only of data the event did not carry: an empty
		// inbox title or mail subject would be worse than a generic one.
		c.Subject = cmp.Or(strings.TrimSpace(r.typ.Title), r.typ.Key)
	}
	// A subject is one line: a newline in it would let data forge mail headers.
	c.Subject = strings.Join(strings.Fields(c.Subject), " ")
	if c.Body, err = execText(r.text, vars); err != nil {
		return c, err
	}
	c.Body = strings.TrimSpace(c.Body)
	return c, nil
}

// Email renders the whole email for one recipient: the notice with a
// greeting, the link as a labelled button, the footer, and the HTML part.
func (r *Renderer) Email(data map[string]any, user Recipient, link string) (Content, error) {
	c, err := r.Notice(data, user, link)
	if err != nil {
		return c, err
	}
	greeting := "Hi,"
	if first := strings.Fields(user.Name); len(first) > 0 {
		greeting = "Hi " + first[0] + ","
	}
	c.Text = greeting + "\n\n" + c.Body
	action := r.typ.Templates.Action
	if action == "" {
		action = "View details"
	}
	if link != "" {
		c.Text += "\n\n" + action + ": " + link
	}
	c.Text += "\n\n-- \n" + r.footer()
	var buf bytes.Buffer
	if r.html != nil {
		vars := map[string]any{"data": exactNumbers(data), "user": user.vars(), "link": link, "type": r.typ.Key}
		err = r.html.Execute(&buf, vars)
		c.HTML = strings.ReplaceAll(buf.String(), noValue, "")
	} else {
		err = layout.Execute(&buf, map[string]any{
			"Subject": c.Subject, "Greeting": greeting, "Paragraphs": paragraphs(c.Body),
			"Preheader": firstLine(c.Body), "Link": link, "Action": action, "Footer": r.footer(),
		})
		c.HTML = buf.String()
	}
	return c, err
}

func (r *Renderer) footer() string {
	if r.Tenant == "" {
		return "You received this because you are a member of a team on Herald."
	}
	return "You received this because you are a member of " + r.Tenant + " on Herald."
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

func execText(t *template.Template, vars map[string]any) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, vars); err != nil {
		return "", err
	}
	return strings.ReplaceAll(buf.String(), noValue, ""), nil
}

// layout is the HTML email for types without their own HTML template:
// table-based and styled inline, as mail clients (Outlook included) need.
var layout = htmltemplate.Must(htmltemplate.New("layout").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title></head>
<body style="margin:0;padding:0;background:#f5f5f7;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1d1f">
<span style="display:none;max-height:0;overflow:hidden;opacity:0">{{.Preheader}}</span>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f5f5f7"><tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:560px;background:#ffffff;border-radius:8px">
<tr><td style="padding:24px">
<h1 style="font-size:18px;line-height:1.3;margin:0 0 16px">{{.Subject}}</h1>
<p style="font-size:15px;line-height:1.5;margin:0 0 12px">{{.Greeting}}</p>
{{range .Paragraphs}}{{if .Quote}}<blockquote style="margin:0 0 12px;padding:8px 12px;border-left:3px solid #c7c7cc;color:#3a3a3c;font-size:15px;line-height:1.5;white-space:pre-line">{{.Text}}</blockquote>
{{else}}<p style="font-size:15px;line-height:1.5;margin:0 0 12px;white-space:pre-line">{{.Text}}</p>
{{end}}{{end}}{{if .Link}}<p style="margin:20px 0 0"><a href="{{.Link}}" style="display:inline-block;background:#2f54eb;color:#ffffff;text-decoration:none;padding:10px 16px;border-radius:6px;font-size:15px">{{.Action}}</a></p>
{{end}}</td></tr></table>
<p style="font-size:12px;line-height:1.5;color:#6e6e73;margin:16px 0 0">{{.Footer}}</p>
</td></tr></table>
</body></html>
`))

// WithUnsubscribe adds a visible unsubscribe link, naming the category it
// stops, to an email's footer (text and HTML). The link is per recipient,
// so it is added after the content hash, which identifies the notification.
func WithUnsubscribe(c Content, link, category string) Content {
	line := "Stop " + category + " emails: " + link
	c.Text += "\n" + line
	p := `<p style="font-size:12px;line-height:1.5;color:#6e6e73;margin:8px 0 0;text-align:center">` +
		`<a href="` + html.EscapeString(link) + `" style="color:#6e6e73">Unsubscribe from ` +
		html.EscapeString(category) + ` emails</a></p>` + "\n"
	if i := strings.LastIndex(strings.ToLower(c.HTML), "</body>"); i >= 0 {
		c.HTML = c.HTML[:i] + p + c.HTML[i:]
	} else {
		c.HTML += p
	}
	return c
}
