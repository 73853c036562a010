package mailer

// CommandTimeout bounds each SMTP exchange; a message in transmission when
// its context ends finishes within a few of them. Callers lease work for it.
const CommandTimeout = commandTimeout
