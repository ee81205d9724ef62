// Package password hashes and verifies passwords with argon2id, stored as PHC
// strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
//
// Argon2id needs tens of MiB per hash, so a Hasher runs at most a fixed number
// of hashes at once and lets only a bounded number of callers wait for a slot;
// past that it answers ErrBusy at once. A login flood then costs a bounded
// amount of memory, whatever its size.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id setting:
// m=19 MiB, t=2, p=1.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters read back from a stored hash, so that a tampered row
// cannot make one login allocate gigabytes or spin for minutes.
const (
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 20
	maxThreads = 16
)

// Errors returned by this package.
var (
	ErrBusy      = errors.New("password: too many hashes waiting")
	ErrMalformed = errors.New("password: malformed hash")
)

// Hasher hashes and verifies passwords under a concurrency bound.
type Hasher struct {
	params  Params
	slots   chan struct{}
	waiting atomic.Int64
	done    atomic.Int64 // hashes and verifications run
	queue   int64
	dummy   string // a hash of a random password, verified for unknown users
}

// NewHasher returns a Hasher with the given parameters that runs at most
// concurrency hashes at once (0: GOMAXPROCS) and lets at most queue callers
// wait for a slot (0: 64 per slot).
func NewHasher(p Params, concurrency, queue int) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	if queue <= 0 {
		queue = 64 * concurrency
	}
	h := &Hasher{params: p, slots: make(chan struct{}, concurrency), queue: int64(queue)}
	h.dummy = h.hashNow(randomText())
	return h
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Done returns how many hashes and verifications have run; tests use it to
// see that a code path spent argon2id work, and metrics export it.
func (h *Hasher) Done() int64 { return h.done.Load() }

// Waiting returns the number of callers waiting for a hashing slot.
func (h *Hasher) Waiting() int64 { return h.waiting.Load() }

// Hash returns the PHC string of pw under the Hasher's parameters.
// It returns ErrBusy when the queue is full, or ctx's error.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.hashNow(pw), nil
}

// Verify reports whether pw matches the PHC string phc, and whether the hash
// should be replaced because its parameters differ from the Hasher's.
// A malformed or out-of-bounds hash returns ErrMalformed.
func (h *Hasher) Verify(ctx context.Context, phc, pw string) (ok, rehash bool, err error) {
	p, salt, want, err := decode(phc)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	rehash = p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads ||
		uint32(len(want)) != h.params.KeyLen || uint32(len(salt)) != h.params.SaltLen
	return ok, rehash, nil
}

// VerifyDummy spends the time and memory of one verification and always fails.
// Login calls it for unknown users so that they answer in the same time as
// known users with a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, h.dummy, pw)
	return err
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.queue {
		h.waiting.Add(-1)
		return ErrBusy
	}
	defer h.waiting.Add(-1)
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() {
	h.done.Add(1)
	<-h.slots
}

func (h *Hasher) hashNow(pw string) string {
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("password: reading randomness: " + err.Error())
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

var b64 = base64.RawStdEncoding.Strict()

func decode(phc string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, ErrMalformed
	}
	var threads uint32
	if n, e := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &threads); e != nil || n != 3 {
		return p, nil, nil, ErrMalformed
	}
	if p.Memory < 8 || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || threads < 1 || threads > maxThreads {
		return p, nil, nil, ErrMalformed
	}
	p.Threads = uint8(threads)
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, ErrMalformed
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, ErrMalformed
	}
	// One stored hash, one spelling: Sscanf ignores what follows p=N, and
	// base64 decoding skips newlines.
	if phc != fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)) {
		return p, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}

func randomText() string {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		panic("password: reading randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Policy limits for new passwords (ASVS 5 §6.2): at least MinChars characters,
// at most MaxBytes bytes (long passphrases are welcome and never truncated),
// valid UTF-8, and not one of the most common passwords.
const (
	MinChars = 8
	MaxBytes = 1024
)

// PolicyError says why a new password was refused; its text is safe to show.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return e.Reason }

// CheckPolicy returns a *PolicyError when pw may not be set as a password.
func CheckPolicy(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return &PolicyError{"password must be valid UTF-8"}
	case utf8.RuneCountInString(pw) < MinChars:
		return &PolicyError{fmt.Sprintf("password must have at least %d characters", MinChars)}
	case len(pw) > MaxBytes:
		return &PolicyError{fmt.Sprintf("password must have at most %d bytes", MaxBytes)}
	case isCommon(pw):
		return &PolicyError{"password is too common; choose another"}
	}
	return nil
}
