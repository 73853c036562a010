package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// notImplemented answers the contract's routes this release does not serve
// yet, so clients get a clear 501 rather than a 404 that looks like a typo.
func notImplemented(c echo.Context) error {
	return newError(http.StatusNotImplemented, "not_implemented",
		"%s %s is part of the Herald API but not built yet", c.Request().Method, c.Path())
}

// pendingRoutes are the contract routes still to build; each leaves this list
// when its handler lands.
var pendingRoutes = []struct{ method, path string }{
	{http.MethodPut, "/v1/event-types/:key"},
	{http.MethodPost, "/v1/experiments"},
	{http.MethodPost, "/v1/experiments/:id/samples"},
	{http.MethodPost, "/v1/experiments/:id/conclude"},
	{http.MethodPost, "/v1/batches"},
	{http.MethodPost, "/v1/batches/:id/jobs/:job/complete"},
	{http.MethodGet, "/v1/experiments/:id"},
	{http.MethodGet, "/v1/batches/:id"},
}

func (s *Server) notImplementedRoutes(e *echo.Echo, v1 *echo.Group) {
	for _, r := range pendingRoutes {
		if len(r.path) > 3 && r.path[:4] == "/v1/" {
			v1.Add(r.method, r.path[3:], notImplemented)
		} else {
			e.Add(r.method, r.path, notImplemented)
		}
	}
}
