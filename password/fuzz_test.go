package password

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// FuzzDecode feeds arbitrary PHC strings to the parser that reads stored
// hashes back. It must never panic, and whatever it accepts must stay within
// the bounds that cap what one verification may cost (memory, passes,
// threads, salt and key lengths), so that a tampered row cannot make a login
// allocate gigabytes, and must be the one canonical spelling of its hash.
// Accepted strings with small parameters are verified for real, which must
// not fail or panic either.
func FuzzDecode(f *testing.F) {
	h := NewHasher(fast, 1, 1)
	good := h.hashNow("correct horse battery staple")
	f.Add(good)
	f.Add(h.dummy)
	for _, s := range []string{
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=1048577,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=64,t=21,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=-1,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=19$m=64,t=1,p=1$$",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"", "$", "$$$$$", "$argon2id$v=19$m=64,t=1,p=1$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, phc string) {
		p, salt, key, err := decode(phc)
		if err != nil {
			if err != ErrMalformed {
				t.Fatalf("decode(%q): error %v, want ErrMalformed", phc, err)
			}
			return
		}
		if p.Memory < 8 || p.Memory > maxMemory || p.Time < 1 || p.Time > maxTime || p.Threads < 1 || p.Threads > maxThreads {
			t.Fatalf("decode(%q) accepted out-of-bounds parameters %+v", phc, p)
		}
		if len(salt) < 8 || len(salt) > 64 || len(key) < 16 || len(key) > 64 {
			t.Fatalf("decode(%q) accepted a salt of %d or a key of %d bytes", phc, len(salt), len(key))
		}
		// One spelling per hash: what decode accepts is exactly what
		// hashNow writes for those parameters, salt and key.
		if canon := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
			b64.EncodeToString(salt), b64.EncodeToString(key)); phc != canon {
			t.Fatalf("decode accepted %q, a non-canonical spelling of %q", phc, canon)
		}
		if p.Memory <= 1024 && p.Time <= 2 && p.Threads <= 2 {
			if _, _, err := h.Verify(context.Background(), phc, "correct horse battery staple"); err != nil {
				t.Fatalf("Verify(%q) after a successful decode: %v", phc, err)
			}
		}
	})
}

// FuzzVerify hashes a password and verifies it and another one: the same
// password always matches and any other never does (no truncation, no
// normalisation of bytes, invalid UTF-8 included).
func FuzzVerify(f *testing.F) {
	h := NewHasher(Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}, 1, 1)
	f.Add("correct horse battery staple", "correct horse battery stapl")
	f.Add(strings.Repeat("😀", 64), strings.Repeat("😀", 63)+"😁")
	f.Add("pässwörd", "pa\u0308sswo\u0308rd") // NFC and NFD differ as bytes
	f.Add("a\x00b", "a")
	f.Add("\xff\xfe", "\xff\xfd")
	f.Fuzz(func(t *testing.T, pw, other string) {
		ctx := context.Background()
		phc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		if ok, rehash, err := h.Verify(ctx, phc, pw); !ok || rehash || err != nil {
			t.Fatalf("Verify(Hash(%q), %q) = %v, %v, %v", pw, pw, ok, rehash, err)
		}
		if ok, _, err := h.Verify(ctx, phc, other); ok != (pw == other) || err != nil {
			t.Fatalf("Verify(Hash(%q), %q) = %v, %v", pw, other, ok, err)
		}
	})
}

// FuzzCheckPolicy: the policy never panics, and what it allows is valid
// UTF-8 of MinChars characters to MaxBytes bytes.
func FuzzCheckPolicy(f *testing.F) {
	for _, s := range []string{"", "password", "password123", "correct horse", strings.Repeat("😀", 64), "\xff\xff\xff\xff\xff\xff\xff\xff", strings.Repeat("x", MaxBytes+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		err := CheckPolicy(pw)
		if err == nil && (!utf8.ValidString(pw) || utf8.RuneCountInString(pw) < MinChars || len(pw) > MaxBytes || isCommon(pw)) {
			t.Fatalf("CheckPolicy(%q) allowed it", pw)
		}
		if err != nil {
			if _, ok := err.(*PolicyError); !ok {
				t.Fatalf("CheckPolicy(%q): %T, want *PolicyError", pw, err)
			}
		}
	})
}
