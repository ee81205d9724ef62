package postgres

// SetEventsHook makes every append of events on db call hook after its
// inserts and before its COMMIT (set it before db is used concurrently).
func SetEventsHook(db *DB, hook func()) { db.eventsHook = hook }

// DisableEventsLock makes db append events without eventsLockKey: the bug
// that the lock prevents, for a test to show.
func DisableEventsLock(db *DB) { db.noEventsLock = true }

// EventsLockKey is the advisory lock key of appends.
const EventsLockKey = eventsLockKey
