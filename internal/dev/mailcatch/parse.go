package mailcatch

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds multipart nesting so a hostile message cannot recurse without limit;
// real mail rarely nests more than three levels.
const maxDepth = 10

var wordDecoder = new(mime.WordDecoder)

// parseMessage extracts the fields of Message from raw. It never fails: a catcher must
// keep whatever it was given, so unparsable parts are simply left empty.
func parseMessage(raw []byte) Message {
	m := Message{Raw: raw}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	m.Header = msg.Header
	m.Subject = decodeHeader(msg.Header.Get("Subject"))
	m.MessageID = strings.Trim(strings.TrimSpace(msg.Header.Get("Message-Id")), "<>")
	walk(&m, textproto.MIMEHeader(msg.Header), msg.Body, 0)
	return m
}

// walk looks for the first text/plain and text/html bodies in a (possibly multipart)
// entity, descending into every multipart type so that multipart/alternative nested in
// multipart/mixed or multipart/related is found.
func walk(m *Message, h textproto.MIMEHeader, body io.Reader, depth int) {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		// RFC 2045 makes text/plain the default for a missing or unusable Content-Type.
		mediaType, params = "text/plain", nil
	}

	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth {
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart, because NextPart decodes quoted-printable but not base64; decoding
			// both here keeps the handling uniform.
			p, err := mr.NextRawPart()
			if err != nil {
				return
			}
			walk(m, p.Header, p, depth+1)
		}
	}

	var target *string
	switch mediaType {
	case "text/plain":
		target = &m.Text
	case "text/html":
		target = &m.HTML
	default:
		return
	}
	if *target != "" {
		return
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return
	}
	encoded, _ := io.ReadAll(body)
	if depth == 0 {
		// SMTP ends every message with a line break, so the final CRLF of a single-part
		// body is transport framing rather than content. In a multipart body the
		// delimiter line owns it, so only the top level needs this.
		if trimmed, ok := bytes.CutSuffix(encoded, []byte("\r\n")); ok {
			encoded = trimmed
		} else {
			encoded = bytes.TrimSuffix(encoded, []byte("\n"))
		}
	}
	// On a decoding error keep what was decoded so far: a partly readable body is more
	// useful when debugging than none.
	data, _ := io.ReadAll(transferDecoder(h.Get("Content-Transfer-Encoding"), bytes.NewReader(encoded)))
	*target = decodeCharset(params["charset"], data)
}

func transferDecoder(encoding string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	default:
		return r
	}
}

// decodeCharset converts body text to UTF-8. Only UTF-8, ASCII and Latin-1 are known,
// which covers what Herald sends; other charsets are passed through unchanged rather
// than pulling in golang.org/x/text for a development tool.
func decodeCharset(charset string, data []byte) string {
	switch strings.ToLower(strings.TrimSpace(charset)) {
	case "iso-8859-1", "latin1", "iso_8859-1", "l1":
		var b strings.Builder
		b.Grow(len(data))
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		return b.String()
	default:
		return string(data)
	}
}

// decodeHeader decodes RFC 2047 encoded-words, falling back to the raw value when an
// encoded-word uses an unknown charset or is malformed.
func decodeHeader(v string) string {
	d, err := wordDecoder.DecodeHeader(v)
	if err != nil || !utf8.ValidString(d) {
		return v
	}
	return d
}
