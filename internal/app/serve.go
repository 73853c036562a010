package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// The API server's limits, so a slow or stalled client cannot hold a
// connection and its goroutine for ever.
const (
	readHeaderTimeout = 10 * time.Second
	// The whole request, body included: a 1 MiB body at 35 KB/s.
	readTimeout = 30 * time.Second
	// From the end of the request head to the end of the answer, so it
	// covers reading the body and the handler's calls to PostgreSQL and
	// Temporal. A stream that must outlive it (the SSE inbox stream) lifts
	// it for its own connection with
	// http.NewResponseController(w).SetWriteDeadline(time.Time{}), or moves
	// it forward before each event. ReadTimeout needs no such care: once a
	// bodiless request is read, net/http clears the read deadline.
	writeTimeout = 60 * time.Second
	// Longer than the idle timeout of common load balancers (60 s), so the
	// server is not the side that closes a connection the balancer reuses.
	idleTimeout    = 120 * time.Second
	maxHeaderBytes = 64 << 10
)

// Serve serves h on addr until ctx ends, then shuts down gracefully, letting
// requests in flight finish for up to 10 seconds.
func Serve(ctx context.Context, addr string, h http.Handler, ready func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("HERALD_HTTP_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	// Open streams would hold Shutdown until its deadline.
	srv.RegisterOnShutdown(func() { CloseStreams(h) })
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
