package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
	"github.com/tessera-auth/tessera/webhook"
)

// The admin commands (user, client, keys, sessions, events, webhook) call
// only admin.Admin, through one of two transports:
//
//   - with --url (TESSERA_URL), admin.NewRemote: the server's admin API,
//     /admin/v1, with --token as the bearer token;
//   - otherwise admin.NewLocal over the store (--data or --store), opened
//     here with what the command needs of it (localNeeds).
//
// One implementation of each command, two transports: the admin API's
// handlers call admin.Local too, so both run the same rules.

// serverURLFlag is the name of --url on webhook add, whose own --url is the
// webhook's endpoint.
const serverURLFlag = "server-url"

// localNeeds is what a command needs of the local transport beyond the
// store and an auth service.
type localNeeds struct {
	// hashing: the argon2id settings, for the commands that hash passwords
	// (the others get a hasher they never use).
	hashing *Hashing
	// server: the server's settings, for the commands that read the signing
	// keys (the token settings and the key-encryption secret) or the
	// session timeouts.
	server *Server
	// keys: load the signing keys (needs the key-encryption secret).
	keys bool
	// secret: the key-encryption secret, to seal a webhook's signing secret.
	secret bool
}

// admin returns the admin.Admin that the command works through, and a func
// that releases it. urlFlag names the URL's flag in messages ("" for --url).
func (a *app) admin(r *Remote, urlFlag string, need localNeeds) (admin.Admin, func(), error) {
	if err := r.Validate(urlFlag); err != nil {
		return nil, nil, err
	}
	if r.URL != "" {
		adm, err := admin.NewRemote(r.URL, r.Token, nil)
		if err != nil {
			return nil, nil, err
		}
		return adm, func() {}, nil
	}
	return a.localAdmin(need)
}

// localAdmin opens the store (migrating it) and returns admin.Local over it.
func (a *app) localAdmin(need localNeeds) (admin.Admin, func(), error) {
	errs := []error{a.global.Validate()}
	if need.hashing != nil {
		errs = append(errs, need.hashing.Validate())
	}
	if need.server != nil {
		errs = append(errs, need.server.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var (
		st  Store
		sk  *secretKey
		err error
	)
	if need.keys || need.secret {
		st, sk, err = openStoreAndSecret(a.ctx, a.global, a.log, true)
	} else {
		st, err = openStore(a.ctx, a.global, a.log, true)
	}
	if err != nil {
		return nil, nil, err
	}
	done := func() { st.Close() }
	adm, err := a.newLocal(st, sk, need)
	if err != nil {
		done()
		return nil, nil, err
	}
	return adm, done, nil
}

func (a *app) newLocal(st Store, sk *secretKey, need localNeeds) (admin.Admin, error) {
	hasher := password.NewHasher(password.OWASP, 1, 1)
	if need.hashing != nil {
		hasher = need.hashing.Hasher()
	}
	// Nothing but webhook add seals with the key-encryption secret; the
	// other commands get a throwaway one, which nothing they do uses.
	kek := make([]byte, secretKeyBytes)
	rand.Read(kek)
	if sk != nil {
		kek = sk.KEK
	}
	cfg := auth.Config{Logger: a.log, Now: a.now}
	if need.server != nil {
		cfg.IdleTimeout = need.server.IdleTimeout
		cfg.AbsoluteTimeout = need.server.AbsoluteTimeout
		cfg.Tokens = need.server.TokenConfig(kek)
	}
	svc := auth.NewService(st, hasher, cfg)
	hasKeys := false
	if need.keys {
		stored, err := st.SigningKeys(a.ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the signing keys: %w", err)
		}
		// A store without keys gets none here: only serve and keys rotate
		// create keys.
		if hasKeys = len(stored) > 0; hasKeys {
			if err := svc.LoadKeys(a.ctx); err != nil {
				return nil, sk.explain(err)
			}
		}
	}
	wh, err := webhook.NewService(st, kek, webhook.Config{Logger: a.log, Now: a.now})
	if err != nil {
		return nil, err
	}
	return &local{Local: admin.NewLocal(svc, wh), svc: svc, hasKeys: hasKeys}, nil
}

// local is admin.Local as the CLI runs it on a store, beside any servers:
// its key rotation also makes a new store's first key, and rotates again
// from the newest key when another process rotated in between.
type local struct {
	*admin.Local
	svc     *auth.Service
	hasKeys bool // the store had signing keys when opened (and they are loaded)
}

// RotateKey implements admin.Admin.
func (l *local) RotateKey(ctx context.Context) (*admin.Key, error) {
	if !l.hasKeys {
		// A new store: the first key is the new one.
		if err := l.svc.LoadKeys(ctx); err != nil {
			return nil, err
		}
		l.hasKeys = true
		keys, err := l.Keys(ctx)
		if err != nil || len(keys) == 0 {
			return nil, errors.Join(err, errors.New("no signing key after creating the first"))
		}
		return &keys[0], nil
	}
	k, err := l.Local.RotateKey(ctx)
	if errors.Is(err, auth.ErrConflict) || auth.ErrorCode(err) == auth.CodeConflict {
		// Another process rotated in between: rotate from its key.
		if err = l.svc.LoadKeys(ctx); err == nil {
			k, err = l.Local.RotateKey(ctx)
		}
	}
	return k, err
}

// notFound turns a CodeNotFound error into msg, for the commands that name
// what was not found; other errors pass.
func notFound(err error, format string, args ...any) error {
	if auth.ErrorCode(err) == auth.CodeNotFound {
		return fmt.Errorf(format, args...)
	}
	return err
}
