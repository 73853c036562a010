package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/internal/mailer"
	"github.com/heraldhq/herald/seal"
)

// MessageID is the Message-ID of a delivery's email: the same on every retry,
// so a message sent twice after a crash is recognisable as one.
func MessageID(deliveryID uuid.UUID, domain string) string {
	return deliveryID.String() + "@" + domain
}

// EmailSender delivers email over SMTP through the worker's relays and
// their connection pools.
type EmailSender struct {
	Mail *mailer.Relays
	// Domain is the right-hand side of Message-IDs.
	Domain string
	// Links seals one-click unsubscribe links under PublicURL. Without it
	// emails carry no unsubscribe link (tests of other things).
	Links     *seal.Sealer
	PublicURL string
}

// Channel is email.
func (s *EmailSender) Channel() channel.Channel { return channel.Email }

// Send renders each job's email and sends them all over pooled connections.
func (s *EmailSender) Send(ctx context.Context, ev *Event, jobs []Job, done func(int, []byte, string, error)) {
	msgs := make([]mailer.Message, 0, len(jobs))
	hashes := make([][]byte, 0, len(jobs))
	index := make([]int, 0, len(jobs)) // msgs[k] is jobs[index[k]]
	for i, j := range jobs {
		if j.Recipient.Email == "" {
			// The user was deleted or lost their address since the page was planned.
			done(i, nil, "", ErrNoAddress)
			continue
		}
		data, err := ev.recipientData(ctx, j.Recipient)
		if err != nil {
			done(i, nil, "", err)
			continue
		}
		link, _ := ev.linkFor(j.Recipient.ID) // the recipient's own mailbox
		c, err := ev.Render.Email(data, j.Recipient, link)
		if err != nil {
			done(i, nil, "", notRendered("rendering the email", err))
			continue
		}
		index = append(index, i)
		hashes = append(hashes, c.Hash())
		headers := map[string]string{
			"X-Herald-Event-ID":    ev.Row.ID.String(),
			"X-Herald-Delivery-ID": j.DeliveryID.String(),
			"X-Herald-Event-Type":  ev.Type.Key,
			// RFC 3282: the language the reader was written to, so mail
			// clients offer to translate only what is foreign to them.
			"Content-Language": c.Lang,
		}
		if link, label := s.unsubscribeLink(ev, j); link != "" {
			// RFC 8058: mail providers offer their own unsubscribe button
			// and POST to the link; the footer link is for everyone else.
			headers["List-Unsubscribe"] = "<" + link + ">"
			headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
			c = catalog.WithUnsubscribe(c, link, label)
		}
		if rt := ev.Render.Brand.ReplyTo; rt != "" {
			headers["Reply-To"] = rt
		}
		msgs = append(msgs, mailer.Message{
			ID: MessageID(j.DeliveryID, s.Domain), To: j.Recipient.Email, ToName: j.Recipient.Name,
			FromName: ev.Render.Brand.FromName,
			Subject:  c.Subject, Text: c.Text, HTML: c.HTML, Headers: headers,
		})
	}
	s.Mail.SendAll(ctx, msgs, func(k int, relay string, err error) {
		if errors.Is(err, mailer.ErrUncertain) {
			// The relay may have it: Deliver fails it uncertain, and only
			// an operator's retry sends it again.
			done(index[k], nil, "", Uncertain(err))
			return
		}
		if err != nil {
			done(index[k], nil, relay, err)
			return
		}
		done(index[k], hashes[k], relay, nil)
	})
}

// unsubscribeLink is the recipient's one-click link for the event's
// category, and the categories it names, or "" for email the tenant
// requires (it cannot be turned off). A digest's (or a collapsed
// notification's) link stops the categories it lists that are not required: a digest itself is stopped only by
// changing its frequency.
func (s *EmailSender) unsubscribeLink(ev *Event, j Job) (string, string) {
	if s.Links == nil || ev.Type.Category == "" {
		return "", ""
	}
	cats := []string{ev.Type.Category}
	if ev.Type.Key == catalog.Digest || ev.Type.Key == catalog.Collapsed {
		cats = nil
		listed, _ := ev.Data["categories"].([]any)
		for _, c := range listed {
			if c, ok := c.(string); ok && c != "" && !strings.Contains(c, ",") {
				cats = append(cats, c)
			}
		}
	}
	free := cats[:0]
	for _, c := range cats {
		if !ev.Settings.Required.RequiredOn(ev.Type.Key, c, channel.Email) {
			free = append(free, c)
		}
	}
	if len(free) == 0 {
		return "", ""
	}
	tok := s.Links.SealUnsubscribe(seal.Unsubscribe{TenantID: ev.Row.TenantID, UserID: j.Recipient.ID, Category: strings.Join(free, ",")})
	label := strings.Join(free, ", ")
	return s.PublicURL + "/unsubscribe/" + tok, label
}

// Permanent: a 5xx for the message or its recipient, or a message that can
// never be built.
func (s *EmailSender) Permanent(err error) bool { return mailer.Permanent(err) }

// Suppresses reports whether err refused the message for good because of
// its recipient's address (mailer.RecipientRejected), and the reply that
// says so: Deliver puts the address on the tenant's suppression list.
func (s *EmailSender) Suppresses(err error) (string, bool) { return mailer.RecipientRejected(err) }

// Describe keeps the SMTP reply code, which tells an operator what happened,
// and drops the server's text and addresses.
func (s *EmailSender) Describe(err error) string {
	var se *mailer.SMTPError
	switch {
	case isPermanent(err):
		return renderFailure(err)
	case errors.Is(err, mailer.ErrUncertain):
		return "the mail server did not answer after the message was sent; it may have been delivered, so it is not sent again automatically"
	case errors.As(err, &se) && se.Code != 0:
		code := fmt.Sprintf("SMTP %d", se.Code)
		if se.Enhanced != "" {
			code += " " + se.Enhanced
		}
		if mailer.Permanent(err) {
			return "the mail server refused the message (" + code + ")"
		}
		return "the mail server deferred the message (" + code + ")"
	case errors.As(err, &se):
		return "the connection to the mail server broke before the message was sent"
	case mailer.Permanent(err):
		return "the message could not be built (invalid address or header)"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return "the attempt ended before the message was sent"
	case errors.Is(err, errRenderTimedOut):
		return errRenderTimedOut.Error()
	}
	return "could not reach the mail server"
}
