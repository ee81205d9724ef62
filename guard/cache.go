package guard

import (
	"strings"
	"sync"
)

// tokenCache maps a token's exact bytes to its pre-built Principal until a
// deadline (Unix nanoseconds). It is bounded: when full, expired entries are
// dropped, then arbitrary ones, down to 7/8 of the bound. Reads take a read
// lock and allocate nothing.
type tokenCache struct {
	mu  sync.RWMutex
	m   map[string]cacheEntry
	max int // <= 0: disabled
}

type cacheEntry struct {
	p     *Principal
	until int64 // Unix nanoseconds; the entry is used while now < until
}

func newTokenCache(max int) *tokenCache {
	c := &tokenCache{max: max}
	if max > 0 {
		c.m = make(map[string]cacheEntry, min(max, 1024))
	}
	return c
}

// get returns the principal cached for token, or nil.
func (c *tokenCache) get(token string, now int64) *Principal {
	if c.max <= 0 {
		return nil
	}
	c.mu.RLock()
	e, ok := c.m[token]
	c.mu.RUnlock()
	if !ok || now >= e.until {
		return nil
	}
	return e.p
}

// put caches p for token until the deadline.
func (c *tokenCache) put(token string, p *Principal, until, now int64) {
	if c.max <= 0 || now >= until {
		return
	}
	token = strings.Clone(token) // keep no reference to a request's buffers
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[token]; !ok && len(c.m) >= c.max {
		c.evictLocked(now)
	}
	c.m[token] = cacheEntry{p: p, until: until}
}

func (c *tokenCache) evictLocked(now int64) {
	for k, e := range c.m {
		if now >= e.until {
			delete(c.m, k)
		}
	}
	target := c.max - c.max/8 - 1
	for k := range c.m {
		if len(c.m) <= target {
			break
		}
		delete(c.m, k)
	}
}

// prune drops expired entries.
func (c *tokenCache) prune(now int64) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	for k, e := range c.m {
		if now >= e.until {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// dropIf deletes the entries whose principal matches f.
func (c *tokenCache) dropIf(f func(*Principal) bool) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	for k, e := range c.m {
		if f(e.p) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// clear drops every entry.
func (c *tokenCache) clear() {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

func (c *tokenCache) len() int {
	if c.max <= 0 {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
