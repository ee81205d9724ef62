package guard

import "time"

// SetJWKSMinInterval shortens the key-fetch rate limit for tests and returns
// a function that restores it. Not safe to call while Guards run.
func SetJWKSMinInterval(d time.Duration) (restore func()) {
	old := jwksMinInterval
	jwksMinInterval = d
	return func() { jwksMinInterval = old }
}

// JWKSMinInterval returns the current key-fetch rate limit.
func JWKSMinInterval() time.Duration { return jwksMinInterval }

// Prune runs the janitor's pruning now.
func (g *Guard) Prune() { g.prune() }
