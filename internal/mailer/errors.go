package mailer

import (
	"errors"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// ErrUncertain matches (with errors.Is) the *SMTPError reported for a message whose
// final "." was sent but whose reply never came (a timeout or a broken connection). The
// server may have accepted it, so sending it again risks a duplicate: SendAll never
// does, and callers should not either. It is not Permanent: the server did not refuse it.
var ErrUncertain = errors.New("mailer: no reply after the message was sent; it may have been delivered")

// Stages of a message's SMTP transaction, as found in SMTPError.Stage.
const (
	stageMail  = "mail"
	stageRcpt  = "rcpt"
	stageData  = "data"
	stageBody  = "body"
	stageFinal = "final"
)

var stageNames = map[string]string{
	stageMail:  "MAIL FROM",
	stageRcpt:  "RCPT TO",
	stageData:  "DATA",
	stageBody:  "sending the message",
	stageFinal: "end of data",
}

// SMTPError is a failed step of a message's SMTP transaction.
type SMTPError struct {
	// Stage is the step that failed: "mail" (MAIL FROM), "rcpt" (RCPT TO), "data" (the
	// DATA command), "body" (writing the message) or "final" (the reply to the final ".").
	Stage string
	// Code is the server's reply code, or 0 when no reply was read (an I/O error or a
	// timeout). Stage "final" with Code 0 is ErrUncertain.
	Code int
	// Enhanced is the RFC 3463 status code that began the reply, such as "5.1.1", when
	// the server announced ENHANCEDSTATUSCODES; empty otherwise.
	Enhanced string
	// Err is the cause: the *textproto.Error of the reply, or the I/O error.
	Err error
}

func (e *SMTPError) Error() string {
	stage := stageNames[e.Stage]
	if stage == "" {
		stage = e.Stage
	}
	msg := "mailer: " + stage
	if e.uncertain() {
		msg = "mailer: no reply to the end of data; the message may have been delivered"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *SMTPError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUncertain) hold for a final "." that got no reply, however
// the error was built.
func (e *SMTPError) Is(target error) bool { return target == ErrUncertain && e.uncertain() }

func (e *SMTPError) uncertain() bool { return e.Stage == stageFinal && e.Code == 0 }

// replyError describes err from stage of a transaction over c. The smtp package returns
// a *textproto.Error when the server replied with an unexpected code and the bare I/O
// error when no reply could be read.
func replyError(c *smtp.Client, stage string, err error) *SMTPError {
	se := &SMTPError{Stage: stage, Err: err}
	var reply *textproto.Error
	if errors.As(err, &reply) {
		se.Code = reply.Code
		if ok, _ := c.Extension("ENHANCEDSTATUSCODES"); ok {
			se.Enhanced = enhancedCode(reply.Code, reply.Msg)
		}
	}
	return se
}

// enhancedCode returns the status code RFC 2034 puts at the start of a reply's text,
// e.g. "5.1.1 no such user", or "" when the text does not start with one of the reply
// code's class. Only the first line counts: the others repeat it.
func enhancedCode(code int, text string) string {
	line, _, _ := strings.Cut(text, "\n")
	word, _, _ := strings.Cut(line, " ")
	parts := strings.Split(word, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) || !strings.Contains("245", parts[0]) {
		return ""
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	return word
}
