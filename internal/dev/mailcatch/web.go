package mailcatch

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"
)

// webLimit is how many of the newest messages the list page and the API return; the
// load tests catch far more than a page can usefully show.
const webLimit = 200

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.HandleFunc("GET /messages/{ref}", s.serveMessage)
	mux.HandleFunc("GET /messages/{ref}/raw", s.serveRaw)
	mux.HandleFunc("GET /api/messages", s.serveAPI)
	return securityHeaders(mux)
}

// securityHeaders keeps scripts in caught mail from running: the HTML part is shown in
// a sandboxed srcdoc iframe, which inherits this policy, while inline styles and remote
// images stay allowed so the mail looks as it would in a client.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// pageHead is shared by both pages; it takes the page title as its data.
const pageHead = `{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.}}</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f4f4f4;width:14em;white-space:nowrap}
td.when{white-space:nowrap}
pre{white-space:pre-wrap;background:#f8f8f8;padding:.8em;border:1px solid #ddd}
iframe{width:100%;height:40em;border:1px solid #ddd}
code{background:#f4f4f4;padding:0 .2em}
</style></head><body>{{end}}`

var (
	indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{"join": strings.Join}).Parse(pageHead + `{{template "head" "Herald mail catcher"}}
<h1>Herald mail catcher</h1>
<p>{{.Count}} {{if eq .Count 1}}message{{else}}messages{{end}} caught; showing the newest {{len .Messages}}. Times are UTC. SMTP: <code>{{.URL}}</code> · <a href="/api/messages">JSON</a></p>
<table>
<tr><th style="width:auto">#</th><th style="width:auto">Received</th><th>From</th><th>To</th><th>Subject</th></tr>
{{range .Messages}}<tr>
<td><a href="/messages/{{.Index}}">{{.Index}}</a></td>
<td class="when">{{.Received.UTC.Format "2006-01-02 15:04:05"}}</td>
<td>{{.From}}</td>
<td>{{join .To ", "}}</td>
<td><a href="/messages/{{.Index}}">{{or .Subject "(no subject)"}}</a></td>
</tr>{{else}}<tr><td colspan="5">No mail yet.</td></tr>{{end}}
</table>
</body></html>`))

	messageTmpl = template.Must(template.New("message").Parse(pageHead + `{{template "head" (printf "%s – Herald mail catcher" (or .Subject "(no subject)"))}}
<p><a href="/">← all messages</a> · <a href="/messages/{{.Index}}/raw">raw</a></p>
<h1>{{or .Subject "(no subject)"}}</h1>
<table>
<tr><th>Received</th><td>{{.Received.UTC.Format "2006-01-02 15:04:05.000"}} UTC</td></tr>
<tr><th>Envelope from</th><td>{{.From}}</td></tr>
<tr><th>Envelope to</th><td>{{range $i, $to := .To}}{{if $i}}, {{end}}{{$to}}{{end}}</td></tr>
<tr><th>Message-ID</th><td>{{.MessageID}}</td></tr>
</table>
<h2>Headers</h2>
<table>{{range .Headers}}<tr><th>{{.Name}}</th><td>{{.Value}}</td></tr>{{end}}</table>
<h2>Text</h2>
{{if .Text}}<pre>{{.Text}}</pre>{{else}}<p>(no text part)</p>{{end}}
<h2>HTML</h2>
{{if .HTML}}<iframe sandbox="" referrerpolicy="no-referrer" srcdoc="{{.HTML}}"></iframe>{{else}}<p>(no HTML part)</p>{{end}}
</body></html>`))
)

func (s *Server) serveIndex(w http.ResponseWriter, _ *http.Request) {
	msgs, count := s.newest(webLimit)
	render(w, indexTmpl, struct {
		Count    int
		URL      string
		Messages []numbered
	}{count, s.URL(), msgs})
}

type headerLine struct{ Name, Value string }

func (s *Server) serveMessage(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(r.PathValue("ref"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	var headers []headerLine
	for name, values := range m.Header {
		for _, v := range values {
			headers = append(headers, headerLine{name, decodeHeader(v)})
		}
	}
	slices.SortStableFunc(headers, func(a, b headerLine) int { return strings.Compare(a.Name, b.Name) })
	render(w, messageTmpl, struct {
		numbered
		Headers []headerLine
	}{m, headers})
}

func (s *Server) serveRaw(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(r.PathValue("ref"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	// text/plain rather than message/rfc822 so browsers display it instead of downloading.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(m.Raw)
}

// apiMessage is the JSON form of a Message, without Raw to keep the listing small.
type apiMessage struct {
	Index     int                 `json:"index"`
	Received  time.Time           `json:"received"`
	From      string              `json:"from"`
	To        []string            `json:"to"`
	MessageID string              `json:"message_id"`
	Subject   string              `json:"subject"`
	Text      string              `json:"text"`
	HTML      string              `json:"html"`
	Header    map[string][]string `json:"header"`
}

// apiList carries the total count alongside the newest messages because the listing is
// capped: polling count is how a load test knows every message has arrived.
type apiList struct {
	Count    int          `json:"count"`
	Messages []apiMessage `json:"messages"`
}

func (s *Server) serveAPI(w http.ResponseWriter, _ *http.Request) {
	msgs, count := s.newest(webLimit)
	out := apiList{Count: count, Messages: make([]apiMessage, 0, len(msgs))}
	for _, m := range msgs {
		out.Messages = append(out.Messages, apiMessage{
			Index:     m.Index,
			Received:  m.Received,
			From:      m.From,
			To:        m.To,
			MessageID: m.MessageID,
			Subject:   m.Subject,
			Text:      m.Text,
			HTML:      m.HTML,
			Header:    m.Header,
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// render executes t into memory first so that a template error yields a clean 500
// instead of a half-written page.
func render(w http.ResponseWriter, t *template.Template, data any) {
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
}
