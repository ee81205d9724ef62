// Package guard is what a resource server imports to accept Tessera access
// tokens: JWT speed with session-grade revocation.
//
//	g, err := guard.New(guard.Config{
//		Issuer:       "https://auth.example.com",
//		ClientID:     id,     // a client with the events and introspect scopes:
//		ClientSecret: secret, // tessera client add --name api --scope events --scope introspect
//	})
//	if err != nil { ... }
//	defer g.Close()
//	mux.Handle("/api/", g.Fast(h))                                     // local check + revocation stream
//	mux.Handle("/billing/", g.Strict(h))                               // the session is checked with the server
//	mux.Handle("/admin/", g.Fast(guard.RequireRoles("admin")(admin))) // 403 without the role
//
//	p, ok := guard.PrincipalFrom(r.Context()) // in a handler: Subject, SessionID, Roles, Scopes, ...
//
// [Guard.Verify] and [Guard.VerifyStrict] are the same checks without
// net/http, for gRPC interceptors or queue consumers.
//
// # What New does
//
// New reads the server's RFC 8414 metadata at
// {Issuer}/.well-known/oauth-authorization-server, whose "issuer" must equal
// Config.Issuer exactly (no trailing-slash or case normalisation), fetches
// the JWK set from its jwks_uri, gets a client_credentials token for Guard's
// own client, and subscribes to the revocation stream {Issuer}/v1/events. It
// returns only once the server's replay of the revocations that still matter
// has been applied (the replay has reached the hello's latest_seq, or the
// server's next heartbeat has arrived), so a Guard never accepts a token
// before it knows the revocations; if that does not happen within
// Config.StartTimeout (10 s), New fails. A restarted process starts over the
// same way. After a disconnect Guard resumes with Last-Event-ID; after an
// outage longer than Staleness, Fast keeps falling back until the missed
// events are applied; when the server cannot resume (a "reset"), the
// revocation state is dropped and rebuilt from the replay, with Fast falling
// back meanwhile.
//
// # Fast: the contract
//
// Fast (and Verify) accept a token when
//
//   - it verifies locally: a compact JWS of at most MaxTokenBytes, signed with
//     a key of the server's JWKS (keys are never taken from the token; EdDSA,
//     ES256 or RS256 and only the key's own algorithm), typ at+jwt, iss equal
//     to Issuer, aud containing Audience, exp, nbf and iat checked with a 30 s
//     leeway (see package accesstoken);
//   - no revocation event that Guard has received covers it: session.revoked
//     for its sid; user.tokens_invalidated or user.deleted for its sub with
//     its iat (whole seconds) strictly before the event's second; or, for a
//     client's own token (no sid), client.removed for its client_id.
//
// While the event stream is live, Fast does no network I/O on the request
// path: a revocation reaches it as soon as the server publishes the event,
// typically within milliseconds. The stream counts as live while Guard has
// heard from it (any event, heartbeats included) within Config.Staleness
// (10 s) and is not replaying after a reset. Otherwise Fast does not trust
// its revocation state: every Fast check is made like a Strict one, by
// introspection, until the stream is live again. Guard logs the start and the
// end of such an outage once each, and counts the checks in
// Stats.Fallbacks. So a revoked token can pass Fast for at most about
// Staleness after the revocation, and only if the stream died silently just
// before it; with the stream up, for the few milliseconds the event takes.
//
// A token signed by a key Guard does not know yet is refused by Fast at once
// (ErrInvalidToken wrapping accesstoken.ErrUnknownKey) and starts a JWKS
// fetch in the background, at most one per 5 s for such requests; Fast never
// waits for it. A key.rotated event refetches the JWKS at once, so tokens of
// a new key are normally known before they are presented.
//
// # Strict: the contract
//
// Strict (and VerifyStrict) make the local checks of Fast and then ask the
// server's introspection endpoint, which answers from the session itself: a
// token whose session was revoked never passes Strict, whether or not the
// event has reached Guard. By default every Strict check asks the server;
// with Config.StrictCacheTTL (at most 1 s) a positive answer is reused for
// the exact same token for that long, never after a revocation event for its
// session, user or client — a trade: a check made within the TTL after the
// revoking call, before its event arrives, could still pass. A token of an unknown key waits (within the request's
// context) for a key fetch. When the server cannot answer, Strict fails
// closed with ErrUnavailable (HTTP 503).
//
// # What is cached, and for how long
//
//   - Verified tokens, by their exact bytes, with their pre-built Principal,
//     until exp plus the 30 s leeway; at most Config.CacheSize (10000)
//     entries, so at most CacheSize × MaxTokenBytes of token text. Revocation
//     applies to cached tokens: the deny sets are consulted on every check.
//     A Principal is shared by every check of its token and must be treated
//     as read-only.
//   - Positive introspection answers, per exact token, dropped on a
//     revocation event that concerns it: Fast's fallback reuses them for 1 s,
//     Strict for Config.StrictCacheTTL (default 0, no reuse).
//   - Revocations: each deny entry from the event's time until every token it
//     can match has expired (the server's token_lifetime_seconds plus 60 s).
//   - Keys: the JWKS, until a key.rotated event or an unknown kid.
//
// # Errors and HTTP
//
// Every refusal of a token matches [ErrUnauthorized] (and one of
// [ErrInvalidToken], [ErrRevoked], [ErrInactive], [ErrNoToken]); the
// middleware answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`
// (plain `Bearer` when there is no token, RFC 6750 §3.1). [ErrUnavailable]
// and [ErrClosed] are not the client's fault: 503. [RequireRoles] and
// [RequireScopes] answer 403 when the principal lacks one (with
// error="insufficient_scope" for scopes), 401 when there is no principal.
//
// # Metrics
//
// Guard depends on no metrics library. [Guard.Stats] returns its counters
// (checks per kind, fallbacks, reconnects, events applied, the last event ID,
// whether the stream is connected); export them with whatever the service
// already uses, e.g. expvar:
//
//	expvar.Publish("guard", expvar.Func(func() any { return g.Stats() }))
//
// or a Prometheus collector whose Collect reads g.Stats().
//
// # Dependencies
//
// guard imports only the standard library and
// github.com/tessera-auth/tessera/accesstoken (with its golang-jwt, jsontext
// and go-jose), never a server package, a database driver or Prometheus, so that
// any service can import it alone. TestDeps enforces this.
//
// # Performance
//
// Measured with
//
//	go test ./guard -run x -bench . -benchmem -count 3
//
// on a shared 2-core AMD EPYC (go1.26.8; medians of 3 runs):
//
//	BenchmarkVerifyRepeated           ~116 ns/op     0 B/op     0 allocs/op  (goal < 1 µs, 0 allocs)
//	BenchmarkVerifyRepeatedParallel   ~126 ns/op     0 B/op     0 allocs/op
//	BenchmarkVerifyFresh              ~46 µs/op   1.15 x-raw   43 allocs/op  (goal ≤ 1.25×)
//	BenchmarkAccesstokenVerify        ~42 µs/op   1.10 x-raw   40 allocs/op  (accesstoken alone)
//	BenchmarkRawEd25519               ~38 µs/op     0 allocs/op  (the floor)
//	BenchmarkFastHandler              ~280 ns/op   384 B/op     3 allocs/op  (middleware, repeated token)
//
// x-raw is the ratio to ed25519.Verify on the same signing input and
// signature, run interleaved in the same benchmark so that both see the same
// load. A fresh token costs guard 3 allocations and about 0.05× over
// accesstoken's own verification (the cache insert and the deny-set check).
package guard
