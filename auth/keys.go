package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tessera-auth/tessera/accesstoken"
)

// keyring holds the signing keys in memory: the active private key, and the
// public keys a verifier trusts and the JWKS publishes. It is loaded from the
// store and reloaded when the events log says a key rotated.
type keyring struct {
	mu      sync.Mutex // serialises reloads
	active  *accesstoken.Key
	stored  []*SigningKey
	keys    map[string]*accesstoken.Key // every stored key, decrypted once
	trusted *accesstoken.AtomicKeySet
	jwks    []byte
}

// KeyInfo describes a signing key for listings (no private material).
type KeyInfo struct {
	ID        string
	Alg       string
	CreatedAt time.Time
	RetiredAt time.Time // zero for the active key
	Published bool      // listed in the JWKS
}

// publishedUntil is when a key retired at t leaves the JWKS: once every token
// it signed has expired, with the verifiers' maximum clock leeway.
func (s *Service) publishedUntil(retired time.Time) time.Time {
	return retired.Add(s.cfg.Tokens.AccessTTL + accesstoken.MaxLeeway)
}

// LoadKeys reads the signing keys from the store, creating the first one if
// there is none. Call it once before serving tokens.
func (s *Service) LoadKeys(ctx context.Context) error {
	if err := s.reloadKeys(ctx); err != nil {
		return err
	}
	if s.keys.active == nil {
		if _, err := s.rotateKey(ctx, ""); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		return s.reloadKeys(ctx)
	}
	return nil
}

func (s *Service) reloadKeys(ctx context.Context) error {
	stored, err := s.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("loading signing keys: %w", err)
	}
	kr := &s.keys
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if kr.keys == nil {
		kr.keys = make(map[string]*accesstoken.Key)
	}
	now := s.now()
	var active *accesstoken.Key
	var trusted []*accesstoken.Key
	for _, sk := range stored {
		k := kr.keys[sk.ID]
		if k == nil {
			der, err := accesstoken.Open(s.cfg.Tokens.KEK, sk.ID, sk.SealedPrivate)
			if err != nil {
				return fmt.Errorf("signing key %s: %w (is TESSERA_SECRET_KEY the one the keys were made with?)", sk.ID, err)
			}
			alg, err := accesstoken.ParseAlg(sk.Alg)
			if err != nil {
				return fmt.Errorf("signing key %s: %w", sk.ID, err)
			}
			if k, err = accesstoken.ParsePrivateKey(sk.ID, alg, der, sk.CreatedAt); err != nil {
				return fmt.Errorf("signing key %s: %w", sk.ID, err)
			}
			kr.keys[sk.ID] = k
		}
		if sk.RetiredAt.IsZero() && active == nil {
			active = k
		}
		if sk.RetiredAt.IsZero() || now.Before(s.publishedUntil(sk.RetiredAt)) {
			trusted = append(trusted, k)
		}
	}
	set, err := accesstoken.NewKeySet(trusted...)
	if err != nil {
		return err
	}
	jwks, err := set.MarshalJWKS()
	if err != nil {
		return err
	}
	if kr.trusted == nil {
		kr.trusted = accesstoken.NewAtomicKeySet(set)
	} else {
		kr.trusted.Store(set)
	}
	kr.active, kr.stored, kr.jwks = active, stored, jwks
	return nil
}

// RotateKey makes a new signing key active. The previous one keeps verifying
// (and stays in the JWKS) until every token it signed has expired.
func (s *Service) RotateKey(ctx context.Context) (*KeyInfo, error) {
	s.keys.mu.Lock()
	current := ""
	if s.keys.active != nil {
		current = s.keys.active.ID
	}
	s.keys.mu.Unlock()
	k, err := s.rotateKey(ctx, current)
	if err != nil {
		return nil, err
	}
	if err := s.reloadKeys(ctx); err != nil {
		return nil, err
	}
	return &KeyInfo{ID: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt, Published: true}, nil
}

// rotateKey stores a new key if the active one is still expectActive;
// ErrConflict when another process rotated first.
func (s *Service) rotateKey(ctx context.Context, expectActive string) (*SigningKey, error) {
	now := s.now()
	k, err := accesstoken.GenerateKey(s.cfg.Tokens.Alg, rand.Reader, now)
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	der, err := k.MarshalPrivate()
	if err != nil {
		return nil, err
	}
	sealed, err := accesstoken.Seal(s.cfg.Tokens.KEK, k.ID, der, rand.Reader)
	if err != nil {
		return nil, err
	}
	sk := &SigningKey{ID: k.ID, Alg: string(k.Alg), SealedPrivate: sealed, CreatedAt: now}
	ev := Event{Type: EventKeyRotated, At: now, Data: map[string]string{"kid": k.ID, "alg": string(k.Alg), "previous": expectActive}}
	if err := s.store.AddSigningKey(ctx, sk, expectActive, ev); err != nil {
		return nil, fmt.Errorf("storing signing key: %w", err)
	}
	s.wake()
	return sk, nil
}

// MaintainKeys rotates the active key when it is older than the rotation
// schedule, and drops keys that no token can still need. Several nodes may
// call it at once: the store lets one rotation win.
func (s *Service) MaintainKeys(ctx context.Context) error {
	s.keys.mu.Lock()
	active := s.keys.active
	s.keys.mu.Unlock()
	if every := s.cfg.Tokens.KeyRotation; every > 0 && active != nil && !s.now().Before(active.CreatedAt.Add(every)) {
		if _, err := s.rotateKey(ctx, active.ID); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	if _, err := s.store.DeleteSigningKeysRetiredBefore(ctx, s.now().Add(-s.cfg.Tokens.AccessTTL-accesstoken.MaxLeeway-time.Hour)); err != nil {
		return err
	}
	return s.reloadKeys(ctx)
}

// Keys lists the signing keys, newest first.
func (s *Service) Keys() []KeyInfo {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	now := s.now()
	out := make([]KeyInfo, 0, len(s.keys.stored))
	for _, sk := range s.keys.stored {
		out = append(out, KeyInfo{ID: sk.ID, Alg: sk.Alg, CreatedAt: sk.CreatedAt, RetiredAt: sk.RetiredAt,
			Published: sk.RetiredAt.IsZero() || now.Before(s.publishedUntil(sk.RetiredAt))})
	}
	return out
}

// JWKS returns the public key set as served at /.well-known/jwks.json.
func (s *Service) JWKS() []byte {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	return s.keys.jwks
}

func (s *Service) activeKey() (*accesstoken.Key, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if s.keys.active == nil {
		return nil, errors.New("no signing key loaded")
	}
	return s.keys.active, nil
}
