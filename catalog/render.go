package catalog

import (
	"bytes"
	"crypto/sha256"
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

// Content is a rendered notification.
type Content struct {
	Subject string
	Body    string // the text without the link, for the in-app inbox
	Text    string // the email's text part
	HTML    string
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
	subject, text *template.Template
	html          *htmltemplate.Template // nil: use the layout
	typ           EventType
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
	if r.subject, err = template.New("subject").Parse(subj); err != nil {
		return nil, err
	}
	if r.text, err = template.New("text").Parse(t.Templates.Text); err != nil {
		return nil, err
	}
	if t.Templates.HTML != "" {
		if r.html, err = htmltemplate.New("html").Parse(t.Templates.HTML); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Render executes the templates for one recipient.
func (r *Renderer) Render(data map[string]any, user Recipient, link string) (Content, error) {
	vars := map[string]any{"data": data, "user": user, "link": link, "type": r.typ.Key}
	var c Content
	var err error
	if c.Subject, err = execText(r.subject, vars); err != nil {
		return c, err
	}
	// A subject is one line: a newline in it would let data forge mail headers.
	c.Subject = strings.Join(strings.Fields(c.Subject), " ")
	if c.Body, err = execText(r.text, vars); err != nil {
		return c, err
	}
	c.Body = strings.TrimSpace(c.Body)
	c.Text = c.Body
	if link != "" {
		c.Text = strings.TrimRight(c.Text, "\n") + "\n\n" + link
	}
	var buf bytes.Buffer
	if r.html != nil {
		err = r.html.Execute(&buf, vars)
		c.HTML = strings.ReplaceAll(buf.String(), noValue, "")
	} else {
		err = layout.Execute(&buf, map[string]any{
			"Subject": c.Subject, "Paragraphs": strings.Split(c.Body, "\n\n"), "Link": link,
		})
		c.HTML = buf.String()
	}
	return c, err
}

func execText(t *template.Template, vars map[string]any) (string, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, vars); err != nil {
		return "", err
	}
	return strings.ReplaceAll(buf.String(), noValue, ""), nil
}

var layout = htmltemplate.Must(htmltemplate.New("layout").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="margin:0;padding:24px;background:#f5f5f7;font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d1d1f">
<table role="presentation" width="100%" style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:24px">
<tr><td>
<h1 style="font-size:18px;margin:0 0 16px">{{.Subject}}</h1>
{{range .Paragraphs}}<p style="font-size:15px;line-height:1.5;margin:0 0 12px;white-space:pre-line">{{.}}</p>
{{end}}{{if .Link}}<p style="margin:20px 0 0"><a href="{{.Link}}" style="display:inline-block;background:#2f54eb;color:#fff;text-decoration:none;padding:10px 16px;border-radius:6px">Open</a></p>
{{end}}</td></tr></table>
<p style="text-align:center;font-size:12px;color:#86868b">Sent by Herald</p>
</body></html>
`))
