package guard

import (
	"context"
	"sync"
	"time"
)

// keyFetcher refetches the JWKS in the background. A request for a fetch
// (an unknown kid) is served at most once per jwksMinInterval; an urgent one
// (a key.rotated event) at once. Fetches never run on a request's goroutine.
type keyFetcher struct {
	mu     sync.Mutex
	done   chan struct{} // closed when the next fetch to start completes
	kick   chan struct{}
	urgent chan struct{}
}

func newKeyFetcher() *keyFetcher {
	return &keyFetcher{done: make(chan struct{}), kick: make(chan struct{}, 1), urgent: make(chan struct{}, 1)}
}

// trigger asks for a fetch and returns a channel closed once a fetch that
// started after the call has completed (successfully or not).
func (f *keyFetcher) trigger(urgent bool) <-chan struct{} {
	f.mu.Lock()
	done := f.done
	f.mu.Unlock()
	ch := f.kick
	if urgent {
		ch = f.urgent
	}
	select {
	case ch <- struct{}{}:
	default: // a request is already pending
	}
	return done
}

// run serves fetch requests until ctx ends.
func (f *keyFetcher) run(ctx context.Context, g *Guard, last time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.urgent:
		case <-f.kick:
			if wait := time.Until(last.Add(jwksMinInterval)); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-f.urgent:
					t.Stop()
				case <-t.C:
				}
			}
		}
		f.mu.Lock()
		done := f.done
		f.done = make(chan struct{})
		f.mu.Unlock()
		fctx, cancel := context.WithTimeout(ctx, defaultHTTPTimeout)
		if err := g.fetchKeys(fctx); err != nil && ctx.Err() == nil {
			g.log.Warn("guard: refetching the JWKS failed", "err", err)
		}
		cancel()
		last = time.Now()
		close(done)
	}
}
