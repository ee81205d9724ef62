package auth

import (
	"context"
	"strings"
	"time"
)

// ApplyEvent keeps this node's cache honest with a change made elsewhere (by
// the CLI, another node, or this node: applying twice is harmless).
func (s *Service) ApplyEvent(ctx context.Context, ev Event) {
	switch {
	case ev.Type == EventSessionRevoked:
		s.cache.dropSession(ev.SessionID)
	case strings.HasPrefix(ev.Type, "user."):
		s.cache.dropUser(ev.UserID)
	case ev.Type == EventKeyRotated:
		if err := s.reloadKeys(ctx); err != nil {
			s.log.Error("reloading signing keys after rotation", "err", err)
		}
	}
}

// Follow tails the events log every interval from its current end and applies
// each event to the cache, until ctx ends. It is the one mechanism that keeps
// caches coherent across processes (the CLI writing to the same database) and,
// with a shared store, across nodes. Subscribers may be given to see every
// event after it is applied.
func (s *Service) Follow(ctx context.Context, interval time.Duration, subscribers ...func(Event)) error {
	last, err := s.store.LastEventSeq(ctx)
	if err != nil {
		return err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for {
			evs, err := s.store.EventsAfter(ctx, last, 1000)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("following events log", "err", err)
				break
			}
			for _, ev := range evs {
				s.ApplyEvent(ctx, ev)
				for _, f := range subscribers {
					f(ev)
				}
				last = ev.Seq
			}
			if len(evs) < 1000 {
				break
			}
		}
	}
}

// CachedSessions returns the number of sessions in this node's cache.
func (s *Service) CachedSessions() int { return s.cache.len() }
