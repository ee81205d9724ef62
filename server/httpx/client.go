package httpx

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/tessera-auth/tessera/auth"
)

type ctxKey int

const requestIDKey ctxKey = 0

// WithRequestID returns ctx carrying the request ID that the server's
// middleware gives every request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID is the ID the server's middleware gave the request, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// ClientIP is the peer address of r, or, when the peer is one of the trusted
// proxies, the right-most address in X-Forwarded-For that is not itself a
// trusted proxy. Everything that records or throttles by client IP takes it
// from here.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !isTrusted(a, trusted) {
			return a.Unmap().String()
		}
	}
	return host
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP is the client address of r under the kit's trusted proxies.
func (k *Kit) ClientIP(r *http.Request) string { return ClientIP(r, k.cfg.TrustedProxies) }

// Client is who is calling, as the service records and throttles it.
func (k *Kit) Client(r *http.Request) auth.Client {
	return auth.Client{IP: k.ClientIP(r), UserAgent: r.UserAgent()}
}
