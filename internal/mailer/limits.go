package mailer

// MaxTransmission bounds how long a message already in transmission when SendAll's
// context ends may still take: MAIL, RCPT, DATA and the body under commandTimeout
// each, the wait for the final reply, and an RSET after a rejection. A worker that
// must stop sooner leaves such a message to its lease: it may be sent again, with
// the same Message-ID.
const MaxTransmission = 5*commandTimeout + finalReplyTimeout
