// Package contract is what Herald's workflows promise their callers: the
// registered workflow names, workflow IDs, signal, update and query names,
// inputs and results, and the error types the API maps. The API, intake and
// the emitter import it (and not the workflows, their activities or the
// mailer); the workflows implement it. Changing a name or a field here
// changes what running workflows and recorded histories expect.
package contract
