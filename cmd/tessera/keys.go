package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
)

// tokenService opens the store (migrating it) and an auth service with the
// token settings of srv and the key-encryption secret; with loadKeys, the
// signing keys are loaded too when the store has any (a store without keys
// gets none: only serve and keys rotate create keys). It returns whether the
// store has keys.
func (a *app) tokenService(srv *Server, loadKeys bool) (svc *auth.Service, hasKeys bool, done func(), err error) {
	if err := errors.Join(a.global.Validate(), srv.Validate()); err != nil {
		return nil, false, nil, err
	}
	st, sk, err := openStoreAndSecret(a.ctx, a.global, a.log, true)
	if err != nil {
		return nil, false, nil, err
	}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	stored, err := st.SigningKeys(a.ctx)
	if err != nil {
		return nil, false, nil, fmt.Errorf("reading the signing keys: %w", err)
	}
	cfg := auth.Config{Logger: a.log, Now: a.now, Tokens: srv.TokenConfig(sk.KEK)}
	svc = auth.NewService(st, password.NewHasher(password.OWASP, 1, 1), cfg)
	if loadKeys && len(stored) > 0 {
		if err := svc.LoadKeys(a.ctx); err != nil {
			return nil, false, nil, sk.explain(err)
		}
	}
	return svc, len(stored) > 0, func() { st.Close() }, nil
}

// The keys commands manage the keys that sign access tokens, through
// admin.Admin: with --url the server's own keys (and settings); otherwise the
// store's, with this command's token settings and key-encryption secret. A
// running server applies a rotation made on the store within --events-poll
// (it follows the events log), so these commands work while it runs.
type keysCmd struct {
	List   keysListCmd   `cmd:"" help:"List the signing keys: kid, algorithm, created, retired, published."`
	Rotate keysRotateCmd `cmd:"" help:"Make a new signing key active; the old one keeps verifying until its tokens expire."`
}

type keysListCmd struct {
	JSON   bool `name:"json" help:"Print a JSON array instead of a table."`
	Server `embed:""`
	Remote `embed:""`
}

func (c *keysListCmd) Help() string {
	return `Lists the signing keys, newest first. The active key signs new tokens; a
retired key stays published in /.well-known/jwks.json (and verifies) until
every token it signed has expired (--access-ttl plus a minute of clock
leeway); the server then drops it. Reading the keys from the store needs the
key-encryption secret (TESSERA_SECRET_KEY, or <data>/secret.key with
SQLite); with --url the server reads them.

Examples:

    tessera keys list
    tessera keys list --json | jq -r '.[] | select(.active) | .kid'`
}

// keyJSON is one key in keys list --json.
type keyJSON struct {
	Kid       string     `json:"kid"`
	Alg       string     `json:"alg"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at"` // null for the active key
	Active    bool       `json:"active"`
	Published bool       `json:"published"`
}

func (c *keysListCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{server: &c.Server, keys: true})
	if err != nil {
		return err
	}
	defer done()
	keys, err := adm.Keys(a.ctx)
	if err != nil {
		return fmt.Errorf("listing the signing keys: %w", err)
	}
	if c.JSON {
		out := make([]keyJSON, 0, len(keys))
		for _, k := range keys {
			kj := keyJSON{Kid: k.ID, Alg: k.Alg, CreatedAt: k.CreatedAt.UTC(), Active: k.Active, Published: k.Published}
			if !k.RetiredAt.IsZero() {
				r := k.RetiredAt.UTC()
				kj.RetiredAt = &r
			}
			out = append(out, kj)
		}
		return writeJSON(a.stdout, out)
	}
	if len(keys) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no signing keys yet: tessera serve (or tessera keys rotate) creates the first")
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tRETIRED\tSTATE")
	for _, k := range keys {
		retired, state := "-", "active"
		if !k.RetiredAt.IsZero() {
			retired = k.RetiredAt.UTC().Format(time.RFC3339)
			state = "published (verifies)"
			if !k.Published {
				state = "unpublished (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Alg, k.CreatedAt.UTC().Format(time.RFC3339), retired, state)
	}
	return tw.Flush()
}

type keysRotateCmd struct {
	Server `embed:""`
	Remote `embed:""`
}

func (c *keysRotateCmd) Help() string {
	return `Creates a new signing key with --signing-alg and makes it active, then
prints its kid. The previous key is retired: it stays in the JWKS and keeps
verifying until the tokens it signed have expired, so nobody is signed out.
A running server picks the new key up within --events-poll. Rotate after a
suspected key leak, or to change --signing-alg; scheduled rotation is
--key-rotation. Give it the server's settings (the same --config or
TESSERA_* variables): the new key's algorithm is this command's
--signing-alg. With --url the server rotates, with its own --signing-alg.

Examples:

    tessera keys rotate
    tessera keys rotate --signing-alg ES256`
}

func (c *keysRotateCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{server: &c.Server, keys: true})
	if err != nil {
		return err
	}
	defer done()
	k, err := adm.RotateKey(a.ctx)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", k.ID)
	a.log.Debug("rotated the signing key", "kid", k.ID, "alg", k.Alg)
	return err
}
