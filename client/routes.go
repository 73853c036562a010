package client

// Route is a route of the API the client implements: its method, its path
// template as the OpenAPI document writes it, and whether the client
// repeats it when its outcome is unknown.
type Route struct {
	Method string
	Path   string
	// Idempotent routes are safe to repeat: repeating one leaves the same
	// state and answers the same way.
	Idempotent bool
	auth       bool // sends the API key
	noRetry    bool // answers are for the caller as they are (readiness)
}

// Routes the client implements. A route left non-idempotent either does
// something each time (a test notification, a retry), answers differently
// the second time (a DELETE answers 404, a decision 409, a single-use link
// 410), or answers a secret only once (a webhook URL's signing secret).
var (
	rHealthz  = Route{Method: "GET", Path: "/healthz", Idempotent: true}
	rReadyz   = Route{Method: "GET", Path: "/readyz", Idempotent: true, noRetry: true}
	rOpenAPI  = Route{Method: "GET", Path: "/openapi.json", Idempotent: true}
	rMetrics  = Route{Method: "GET", Path: "/metrics", Idempotent: true}
	rPutUser  = Route{Method: "PUT", Path: "/v1/users/{id}", Idempotent: true, auth: true}
	rGetUser  = Route{Method: "GET", Path: "/v1/users/{id}", Idempotent: true, auth: true}
	rDelUser  = Route{Method: "DELETE", Path: "/v1/users/{id}", auth: true}
	rGetPrefs = Route{Method: "GET", Path: "/v1/users/{id}/preferences", Idempotent: true, auth: true}
	rPutPrefs = Route{Method: "PUT", Path: "/v1/users/{id}/preferences", auth: true}
	rGetSet   = Route{Method: "GET", Path: "/v1/tenant/settings", Idempotent: true, auth: true}
	rPutSet   = Route{Method: "PUT", Path: "/v1/tenant/settings", Idempotent: true, auth: true}
	rGetBrand = Route{Method: "GET", Path: "/v1/tenant/branding", Idempotent: true, auth: true}
	rPutBrand = Route{Method: "PUT", Path: "/v1/tenant/branding", Idempotent: true, auth: true}
	rGetSlack = Route{Method: "GET", Path: "/v1/integrations/slack", Idempotent: true, auth: true}
	rPutSlack = Route{Method: "PUT", Path: "/v1/integrations/slack", Idempotent: true, auth: true}
	rGetHook  = Route{Method: "GET", Path: "/v1/integrations/webhook", Idempotent: true, auth: true}
	rPutHook  = Route{Method: "PUT", Path: "/v1/integrations/webhook", auth: true}
	rListET   = Route{Method: "GET", Path: "/v1/event-types", Idempotent: true, auth: true}
	rPutET    = Route{Method: "PUT", Path: "/v1/event-types/{key}", Idempotent: true, auth: true}
	rListChan = Route{Method: "GET", Path: "/v1/channels", Idempotent: true, auth: true}
	// A preview renders and sends nothing: repeating it is harmless.
	rPreviewET      = Route{Method: "POST", Path: "/v1/event-types/{key}/preview", Idempotent: true, auth: true}
	rListETVersions = Route{Method: "GET", Path: "/v1/event-types/{key}/versions", Idempotent: true, auth: true}
	// The client always sends an idempotency key, which makes a repeated
	// post answer the first event.
	rPostEvent    = Route{Method: "POST", Path: "/v1/events", Idempotent: true, auth: true}
	rGetEvent     = Route{Method: "GET", Path: "/v1/events/{id}", Idempotent: true, auth: true}
	rCancelEvent  = Route{Method: "DELETE", Path: "/v1/events/{id}", auth: true}
	rListDel      = Route{Method: "GET", Path: "/v1/deliveries", Idempotent: true, auth: true}
	rRetryDel     = Route{Method: "POST", Path: "/v1/deliveries/{id}/retry", auth: true}
	rRetryDels    = Route{Method: "POST", Path: "/v1/deliveries/retry", auth: true}
	rListSupp     = Route{Method: "GET", Path: "/v1/suppressions", Idempotent: true, auth: true}
	rAddSupp      = Route{Method: "POST", Path: "/v1/suppressions", Idempotent: true, auth: true} // listed already: 200, its entry
	rDelSupp      = Route{Method: "DELETE", Path: "/v1/suppressions/{address}", auth: true}
	rVerifyAudit  = Route{Method: "GET", Path: "/v1/audit/verify", Idempotent: true, auth: true}
	rListAudit    = Route{Method: "GET", Path: "/v1/audit", Idempotent: true, auth: true}
	rPostApproval = Route{Method: "POST", Path: "/v1/approvals", Idempotent: true, auth: true}
	rGetApproval  = Route{Method: "GET", Path: "/v1/approvals/{id}", Idempotent: true, auth: true}
	rDelApproval  = Route{Method: "DELETE", Path: "/v1/approvals/{id}", auth: true}
	rDecide       = Route{Method: "POST", Path: "/v1/approvals/{id}/decision", auth: true}
	rPostExp      = Route{Method: "POST", Path: "/v1/experiments", Idempotent: true, auth: true}
	rGetExp       = Route{Method: "GET", Path: "/v1/experiments/{id}", Idempotent: true, auth: true}
	rSamples      = Route{Method: "POST", Path: "/v1/experiments/{id}/samples", Idempotent: true, auth: true}
	rConclude     = Route{Method: "POST", Path: "/v1/experiments/{id}/conclude", auth: true}
	rPostBatch    = Route{Method: "POST", Path: "/v1/batches", Idempotent: true, auth: true}
	rGetBatch     = Route{Method: "GET", Path: "/v1/batches/{id}", Idempotent: true, auth: true}
	rCompleteJob  = Route{Method: "POST", Path: "/v1/batches/{id}/jobs/{job}/complete", Idempotent: true, auth: true}
	rTestNotify   = Route{Method: "POST", Path: "/v1/test-notification", auth: true}
	rListInbox    = Route{Method: "GET", Path: "/v1/users/{id}/notifications", Idempotent: true, auth: true}
	rMarkRead     = Route{Method: "PATCH", Path: "/v1/users/{id}/notifications/{nid}/read", Idempotent: true, auth: true}
	rPatchItem    = Route{Method: "PATCH", Path: "/v1/users/{id}/notifications/{nid}", Idempotent: true, auth: true}
	rSnooze       = Route{Method: "POST", Path: "/v1/users/{id}/notifications/{nid}/snooze", Idempotent: true, auth: true}
	rMarkAllRead  = Route{Method: "POST", Path: "/v1/users/{id}/notifications/mark_all_read", Idempotent: true, auth: true}
	rMarkAllSeen  = Route{Method: "POST", Path: "/v1/users/{id}/notifications/mark_all_seen", Idempotent: true, auth: true}
	rArchiveRead  = Route{Method: "POST", Path: "/v1/users/{id}/notifications/archive_all_read", Idempotent: true, auth: true}
	rUnreadCount  = Route{Method: "GET", Path: "/v1/users/{id}/notifications/unread_count", Idempotent: true, auth: true}
	rStream       = Route{Method: "GET", Path: "/v1/users/{id}/notifications/stream", Idempotent: true, auth: true}
	rInboxToken   = Route{Method: "POST", Path: "/v1/users/{id}/inbox-token", Idempotent: true, auth: true}
	rInboxPage    = Route{Method: "GET", Path: "/inbox", Idempotent: true}
	rWidget       = Route{Method: "GET", Path: "/inbox/widget.js", Idempotent: true}
	rApprovalPage = Route{Method: "GET", Path: "/a/{token}", Idempotent: true}
	rApprovalPost = Route{Method: "POST", Path: "/a/{token}"}
	rUnsubPage    = Route{Method: "GET", Path: "/unsubscribe/{token}", Idempotent: true}
	rUnsubPost    = Route{Method: "POST", Path: "/unsubscribe/{token}"}
)

// Routes returns every route the client implements; openapi_test.go checks
// them against the OpenAPI document.
func Routes() []Route {
	return []Route{rHealthz, rReadyz, rOpenAPI, rMetrics, rPutUser, rGetUser, rDelUser, rGetPrefs,
		rPutPrefs, rGetSet, rPutSet, rGetBrand, rPutBrand, rGetSlack, rPutSlack, rGetHook, rPutHook, rListET, rPutET, rPreviewET, rListETVersions, rListChan,
		rPostEvent, rGetEvent, rCancelEvent, rListDel, rRetryDel, rRetryDels, rListSupp, rAddSupp, rDelSupp,
		rVerifyAudit, rListAudit, rPostApproval, rGetApproval, rDelApproval, rDecide, rPostExp, rGetExp,
		rSamples, rConclude, rPostBatch, rGetBatch, rCompleteJob, rTestNotify, rListInbox, rMarkRead,
		rPatchItem, rSnooze, rMarkAllRead, rMarkAllSeen, rArchiveRead, rUnreadCount, rStream, rInboxToken,
		rInboxPage, rWidget, rApprovalPage, rApprovalPost, rUnsubPage, rUnsubPost}
}
