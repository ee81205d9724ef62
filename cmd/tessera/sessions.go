package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tessera-auth/tessera/admin"
)

// The sessions commands show and end a user's sessions (their devices),
// through admin.Admin like the user commands.
type sessionsCmd struct {
	List   sessionsListCmd   `cmd:"" help:"List a user's live sessions, newest first."`
	Revoke sessionsRevokeCmd `cmd:"" help:"End one session of a user (--sid), or every session and token (--all)."`
}

type sessionsListCmd struct {
	Email  string `required:"" placeholder:"EMAIL" help:"The user's email address (or ID)."`
	JSON   bool   `name:"json" help:"Print a JSON array instead of a table."`
	Server `embed:""`
	Remote `embed:""`
}

func (c *sessionsListCmd) Help() string {
	return `Lists the user's live sessions, newest first: the session ID (sid), when
it was created, when it was last used and from where (IP, user agent), and
when it expires: after --idle-timeout unused, or --absolute-timeout after
sign-in, whichever comes first. Run it with the server's settings (the same
--config or TESSERA_* variables), since a session is live for the server's
--idle-timeout; with --url the server answers with its own.

Examples:

    tessera sessions list --email ada@example.com
    tessera sessions list --email ada@example.com --json | jq -r '.[].sid'`
}

func (c *sessionsListCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{server: &c.Server})
	if err != nil {
		return err
	}
	defer done()
	list, err := adm.Sessions(a.ctx, c.Email)
	if err != nil {
		return noSuchUser(err, c.Email)
	}
	if c.JSON {
		if list == nil {
			list = []admin.Session{}
		}
		return writeJSON(a.stdout, list)
	}
	if len(list) == 0 {
		_, err := fmt.Fprintf(a.stdout, "no live sessions for %s\n", c.Email)
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SID\tCREATED\tLAST SEEN\tIP\tUSER AGENT\tEXPIRES")
	for _, s := range list {
		expires := s.ExpiresAt
		if !s.IdleExpiresAt.IsZero() && s.IdleExpiresAt.Before(expires) {
			expires = s.IdleExpiresAt
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.CreatedAt.UTC().Format(time.RFC3339), s.LastSeenAt.UTC().Format(time.RFC3339),
			dash(s.IP), dash(oneLine(truncate(s.UserAgent, 60))), expires.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

type sessionsRevokeCmd struct {
	Email  string `required:"" placeholder:"EMAIL" help:"The user's email address (or ID)."`
	SID    string `name:"sid" placeholder:"SID" help:"The session to end, as sessions list shows it (write --sid=SID for one that starts with -)."`
	All    bool   `name:"all" help:"End every session of the user, and invalidate every token issued to them so far."`
	Remote `embed:""`
}

func (c *sessionsRevokeCmd) Help() string {
	return `Ends one session of the user (--sid), or all of them (--all): the user is
signed out there, and the session's refresh tokens stop working. --all also
invalidates every token issued to the user so far, so that introspection
and GET /v1/session refuse them at once. Access tokens (JWTs) stay valid for
verifiers that check only the signature until they expire (--access-ttl).
Running servers apply it within --events-poll.

Examples:

    tessera sessions revoke --email ada@example.com --sid=3kQ9vX0pLm2sTt7AbCdEfG
    tessera sessions revoke --email ada@example.com --all

(Write --sid=SID, with "=": a session ID may start with "-".)`
}

func (c *sessionsRevokeCmd) Run(a *app) error {
	if (c.SID == "") == !c.All {
		return errors.New("give --sid SID (one session, as tessera sessions list shows them) or --all (every session and token of the user)")
	}
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	u, err := adm.User(a.ctx, c.Email)
	if err != nil {
		return noSuchUser(err, c.Email)
	}
	if c.All {
		if err := adm.SignOutEverywhere(a.ctx, u.ID); err != nil {
			return noSuchUser(err, c.Email)
		}
		_, err = fmt.Fprintf(a.stdout, "signed %s out everywhere: every session and token has ended\n", u.Email)
		return err
	}
	if err := adm.RevokeSession(a.ctx, u.ID, c.SID); err != nil {
		return notFound(err, "%s has no live session %s (tessera sessions list --email %s shows them)", u.Email, c.SID, u.Email)
	}
	_, err = fmt.Fprintf(a.stdout, "revoked session %s of %s\n", c.SID, u.Email)
	return err
}

// dash shows an empty table cell as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
