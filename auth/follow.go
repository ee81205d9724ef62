package auth

import (
	"context"
	"strings"
	"sync"
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

// feed fans the followed events out to subscribers (the events stream, the
// webhook deliverer) and lets writers on this node wake the follower at once.
type feed struct {
	wakeup chan struct{}
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
}

// Subscription receives every event the follower reads, in Seq order. A
// subscriber that falls more than its buffer behind is closed (C is closed
// and Dropped reports true); it resumes from the events log.
type Subscription struct {
	C       <-chan Event
	c       chan Event
	f       *feed
	dropped bool
	once    sync.Once
}

// Subscribe returns a subscription to the followed events.
func (s *Service) Subscribe(buffer int) *Subscription {
	c := make(chan Event, buffer)
	sub := &Subscription{C: c, c: c, f: &s.feed}
	s.feed.mu.Lock()
	if s.feed.subs == nil {
		s.feed.subs = make(map[*Subscription]struct{})
	}
	s.feed.subs[sub] = struct{}{}
	s.feed.mu.Unlock()
	return sub
}

// Close ends the subscription.
func (sub *Subscription) Close() {
	sub.f.mu.Lock()
	delete(sub.f.subs, sub)
	sub.f.mu.Unlock()
	sub.once.Do(func() { close(sub.c) })
}

// Dropped reports whether the subscription was closed for falling behind.
func (sub *Subscription) Dropped() bool {
	sub.f.mu.Lock()
	defer sub.f.mu.Unlock()
	return sub.dropped
}

// Subscribers returns the number of live subscriptions.
func (s *Service) Subscribers() int {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	return len(s.feed.subs)
}

func (f *feed) publish(ev Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		select {
		case sub.c <- ev:
		default:
			sub.dropped = true
			delete(f.subs, sub)
			sub.once.Do(func() { close(sub.c) })
		}
	}
}

// Wake makes the follower read the events log now. A store that hears of
// other nodes' appends (PostgreSQL's LISTEN/NOTIFY) calls it, so that their
// revocations reach this node's cache in milliseconds, not at the next poll.
func (s *Service) Wake() { s.wake() }

// wake tells the follower that this node just appended events, so that they
// reach subscribers in milliseconds rather than at the next poll.
func (s *Service) wake() {
	select {
	case s.feed.wakeup <- struct{}{}:
	default:
	}
}

// Follow tails the events log after Seq from and applies each event to the
// cache and to subscribers, until ctx ends. It reads when this node wrote
// events (wake) and every interval otherwise. It is the one mechanism that
// keeps caches coherent across processes (the CLI writing to the same
// database) and, with a shared store, across nodes.
//
// Read from with Store().LastEventSeq before serving requests: an event
// appended between that read and Follow's start is then still applied.
func (s *Service) Follow(ctx context.Context, from int64, interval time.Duration) error {
	last := from
	s.followed.Store(last)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.feed.wakeup:
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
				s.feed.publish(ev)
				last = ev.Seq
			}
			s.followed.Store(last)
			if len(evs) < 1000 {
				break
			}
		}
	}
}

// Followed returns the Seq of the last event the follower applied.
func (s *Service) Followed() int64 { return s.followed.Load() }

// SetCacheEnabled turns the session and user cache off (emptying it) or
// back on. A node that cannot hear other nodes' changes (its notification
// connection is down) turns it off until it has caught up with the events
// log: it then answers from the store, slower but never stale.
func (s *Service) SetCacheEnabled(on bool) { s.cache.setEnabled(on) }

// CachedSessions returns the number of sessions in this node's cache.
func (s *Service) CachedSessions() int { return s.cache.len() }
