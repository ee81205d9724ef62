package auth

import (
	"sync"
	"sync/atomic"

	"github.com/tessera-auth/tessera/secret"
)

// cache keeps sessions and users in memory so that the common session check
// does no store I/O. Entries are dropped when the events log says they changed
// (see Service.ApplyEvent) and, on this node, synchronously by the call that
// changed them.
//
// A lookup that misses reads the store and then fills the cache. If an
// invalidation ran in between, the value read may already be stale, so fill
// is refused when the generation counter moved since the read began.
type cache struct {
	max    int
	gen    atomic.Uint64
	bypass atomic.Bool // set while this node cannot hear other nodes' changes

	mu       sync.RWMutex
	byHash   map[secret.Hash]*cachedSession
	byID     map[string]*cachedSession
	users    map[string]*User
	disabled bool
}

type cachedSession struct {
	s        Session      // immutable after fill
	lastSeen atomic.Int64 // unix nanoseconds, updated in memory on every use
	touched  atomic.Int64 // unix nanoseconds of the last write to the store
}

func newCache(max int) *cache {
	return &cache{
		max:      max,
		disabled: max < 0,
		byHash:   make(map[secret.Hash]*cachedSession),
		byID:     make(map[string]*cachedSession),
		users:    make(map[string]*User),
	}
}

func (c *cache) generation() uint64 { return c.gen.Load() }

func (c *cache) sessionByHash(h secret.Hash) *cachedSession {
	if c.bypass.Load() {
		return nil
	}
	c.mu.RLock()
	e := c.byHash[h]
	c.mu.RUnlock()
	return e
}

func (c *cache) sessionByID(id string) *cachedSession {
	if c.bypass.Load() {
		return nil
	}
	c.mu.RLock()
	e := c.byID[id]
	c.mu.RUnlock()
	return e
}

func (c *cache) user(id string) *User {
	if c.bypass.Load() {
		return nil
	}
	c.mu.RLock()
	u := c.users[id]
	c.mu.RUnlock()
	return u
}

// putSession caches s if no invalidation happened since gen; it returns the
// entry to use (the cached one, or a private one when the fill was refused).
func (c *cache) putSession(s *Session, gen uint64) *cachedSession {
	e := &cachedSession{s: *s}
	e.lastSeen.Store(s.LastSeenAt.UnixNano())
	e.touched.Store(s.LastSeenAt.UnixNano())
	if c.disabled || c.bypass.Load() || s.Revoked() {
		return e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return e
	}
	if old := c.byID[s.ID]; old != nil {
		return old
	}
	if len(c.byID) >= c.max {
		c.evictSome()
	}
	c.byHash[s.SecretHash] = e
	c.byID[s.ID] = e
	return e
}

func (c *cache) putUser(u *User, gen uint64) {
	if c.disabled || c.bypass.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if len(c.users) >= c.max {
		for id := range c.users {
			delete(c.users, id)
			if len(c.users) < c.max*3/4 {
				break
			}
		}
	}
	c.users[u.ID] = u
}

// evictSome drops a quarter of the sessions; map order makes the choice
// effectively random, which is good enough for a cache that refills from the
// store on a miss. Called with mu held.
func (c *cache) evictSome() {
	for id, e := range c.byID {
		delete(c.byID, id)
		delete(c.byHash, e.s.SecretHash)
		if len(c.byID) < c.max*3/4 {
			break
		}
	}
}

func (c *cache) dropSession(id string) {
	c.gen.Add(1)
	c.mu.Lock()
	if e := c.byID[id]; e != nil {
		delete(c.byID, id)
		delete(c.byHash, e.s.SecretHash)
	}
	c.mu.Unlock()
}

func (c *cache) dropUser(id string) {
	c.gen.Add(1)
	c.mu.Lock()
	delete(c.users, id)
	c.mu.Unlock()
}

// setEnabled turns the cache off (emptying it) or back on. Emptying bumps
// the generation, so a fill that began before the switch is refused.
func (c *cache) setEnabled(on bool) {
	if on {
		c.bypass.Store(false)
		return
	}
	c.bypass.Store(true)
	c.dropAll()
}

// dropAll empties the cache: after a gap in the events log nobody can say
// which entries are stale.
func (c *cache) dropAll() {
	c.gen.Add(1)
	c.mu.Lock()
	clear(c.byHash)
	clear(c.byID)
	clear(c.users)
	c.mu.Unlock()
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.byID)
}
