package guard

import (
	"sync"
	"time"
)

// denySet is the revocation state built from the event stream: revoked
// sessions, per-user "tokens issued before this second are dead", and removed
// clients. An entry denies from the moment it is added until it is pruned,
// which happens only once every token it could match has expired (the
// event's time plus the longest token lifetime, plus the verifier's leeway).
type denySet struct {
	mu      sync.RWMutex
	sids    map[string]int64    // sid -> prune after (Unix nanoseconds)
	users   map[string]userDeny // user ID -> cutoff
	clients map[string]int64    // client ID -> prune after
}

type userDeny struct {
	before int64 // tokens whose iat (Unix seconds) is strictly before this are dead
	until  int64 // prune after (Unix nanoseconds)
}

func newDenySet() *denySet {
	return &denySet{sids: map[string]int64{}, users: map[string]userDeny{}, clients: map[string]int64{}}
}

// denied reports whether p's token is revoked. It allocates nothing.
func (d *denySet) denied(p *Principal) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if p.SessionID != "" {
		if _, ok := d.sids[p.SessionID]; ok {
			return true
		}
	} else if _, ok := d.clients[p.ClientID]; ok {
		return true
	}
	if u, ok := d.users[p.Subject]; ok && p.IssuedAt.Unix() < u.before {
		return true
	}
	return false
}

func (d *denySet) revokeSession(sid string, until time.Time) {
	d.mu.Lock()
	d.sids[sid] = max(d.sids[sid], until.UnixNano())
	d.mu.Unlock()
}

// invalidateUser kills the user's tokens issued before the second of at.
func (d *denySet) invalidateUser(userID string, at, until time.Time) {
	d.mu.Lock()
	u := d.users[userID]
	u.before = max(u.before, at.Unix()) // Unix() floors to the second
	u.until = max(u.until, until.UnixNano())
	d.users[userID] = u
	d.mu.Unlock()
}

func (d *denySet) removeClient(clientID string, until time.Time) {
	d.mu.Lock()
	d.clients[clientID] = max(d.clients[clientID], until.UnixNano())
	d.mu.Unlock()
}

// reset drops all state.
func (d *denySet) reset() {
	d.mu.Lock()
	clear(d.sids)
	clear(d.users)
	clear(d.clients)
	d.mu.Unlock()
}

// prune drops the entries that can no longer match a live token.
func (d *denySet) prune(now int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, until := range d.sids {
		if now > until {
			delete(d.sids, k)
		}
	}
	for k, u := range d.users {
		if now > u.until {
			delete(d.users, k)
		}
	}
	for k, until := range d.clients {
		if now > until {
			delete(d.clients, k)
		}
	}
}

func (d *denySet) sizes() (sids, users, clients int) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.sids), len(d.users), len(d.clients)
}
