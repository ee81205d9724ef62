package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fast keeps tests quick; the parameters' effect is what is tested, not their cost.
var fast = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	h := NewHasher(fast, 2, 0)
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("PHC string %q", phc)
	}
	t.Run("OK", func(t *testing.T) {
		ok, rehash, err := h.Verify(ctx, phc, "correct horse battery staple")
		if err != nil || !ok || rehash {
			t.Fatalf("Verify = %v %v %v", ok, rehash, err)
		}
	})
	t.Run("ErrWrong", func(t *testing.T) {
		if ok, _, _ := h.Verify(ctx, phc, "correct horse battery stapl"); ok {
			t.Fatal("wrong password accepted")
		}
	})
	t.Run("RehashOnNewParams", func(t *testing.T) {
		h2 := NewHasher(Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0)
		ok, rehash, err := h2.Verify(ctx, phc, "correct horse battery staple")
		if err != nil || !ok || !rehash {
			t.Fatalf("Verify = %v %v %v, want ok and rehash", ok, rehash, err)
		}
	})
	t.Run("SaltsDiffer", func(t *testing.T) {
		other, _ := h.Hash(ctx, "correct horse battery staple")
		if other == phc {
			t.Fatal("two hashes of one password are equal: salt not random")
		}
	})
}

func TestNoTruncation(t *testing.T) {
	h := NewHasher(fast, 1, 0)
	ctx := context.Background()
	long := strings.Repeat("😀", 64)
	phc, _ := h.Hash(ctx, long)
	changed := strings.Repeat("😀", 63) + "😁"
	if ok, _, _ := h.Verify(ctx, phc, changed); ok {
		t.Fatal("a password differing in its last character was accepted")
	}
	if ok, _, _ := h.Verify(ctx, phc, long); !ok {
		t.Fatal("64-emoji password refused")
	}
}

func TestMalformedAndOutOfBoundsHashes(t *testing.T) {
	h := NewHasher(fast, 1, 0)
	good, _ := h.Hash(context.Background(), "whatever-pass")
	parts := strings.Split(good, "$")
	cases := map[string]string{
		"Empty":      "",
		"Bcrypt":     "$2a$10$abcdefghijklmnopqrstuv",
		"Argon2i":    strings.Replace(good, "argon2id", "argon2i", 1),
		"Version":    strings.Replace(good, "v=19", "v=16", 1),
		"HugeMemory": strings.Replace(good, "m=64", "m=4294967295", 1),
		"HugeTime":   strings.Replace(good, "t=1", "t=100000", 1),
		"ZeroThread": strings.Replace(good, "p=1", "p=0", 1),
		"BadSalt":    strings.Join(append(parts[:4:4], "!!!", parts[5]), "$"),
		"ShortKey":   strings.Join(append(parts[:5:5], "AAAA"), "$"),
	}
	for name, phc := range cases {
		t.Run("Err"+name, func(t *testing.T) {
			if _, _, err := h.Verify(context.Background(), phc, "whatever-pass"); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify(%q) err = %v, want ErrMalformed", phc, err)
			}
		})
	}
}

func TestQueueIsBounded(t *testing.T) {
	// One slot, one waiter: with the slot held and the waiter queued, a third
	// caller must be refused at once rather than pile up memory.
	h := NewHasher(fast, 1, 1)
	h.slots <- struct{}{} // hold the only slot
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.Hash(ctx, "queued-password") }()
	for h.Waiting() != 1 {
		runtime.Gosched() // until the goroutine is queued
	}
	if _, err := h.Hash(context.Background(), "flooding-password"); !errors.Is(err, ErrBusy) {
		t.Fatalf("third caller err = %v, want ErrBusy", err)
	}
	cancel()
	wg.Wait()
	<-h.slots
	if _, err := h.Hash(context.Background(), "after-the-flood"); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestPolicy(t *testing.T) {
	for _, pw := range []string{"1234567", "password123", "Password1", strings.Repeat("a", MaxBytes+1), "\xff\xfe\xfdabcdefgh"} {
		if CheckPolicy(pw) == nil {
			t.Errorf("CheckPolicy(%.20q) accepted", pw)
		}
	}
	for _, pw := range []string{"tessellate-the-sky", strings.Repeat("😀", 64), "eight888"} {
		if err := CheckPolicy(pw); err != nil {
			t.Errorf("CheckPolicy(%q) = %v", pw, err)
		}
	}
}

func BenchmarkRawArgon2id(b *testing.B) {
	h := NewHasher(OWASP, 1, 0)
	for b.Loop() {
		h.hashNow("correct horse battery staple")
	}
}
