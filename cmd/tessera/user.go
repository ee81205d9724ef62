package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/password"
)

// The user commands work through admin.Admin: with --url on a server's
// admin API, otherwise on the store directly, also while a server runs on it:
// SQLite's WAL and busy timeout let both write (PostgreSQL needs no help),
// and the servers apply the change within --events-poll because they follow
// the events log (within milliseconds with PostgreSQL, which notifies them).
type userCmd struct {
	Add      userAddCmd      `cmd:"" help:"Create a user; the password is read from stdin."`
	List     userListCmd     `cmd:"" help:"List users."`
	Disable  userDisableCmd  `cmd:"" help:"Disable a user: sign-in is refused and every session ends."`
	Enable   userEnableCmd   `cmd:"" help:"Enable a disabled user again."`
	SetRoles userSetRolesCmd `cmd:"" name:"set-roles" help:"Replace a user's roles; removing a role ends the user's sessions."`
	Passwd   userPasswdCmd   `cmd:"" help:"Set a user's password, read from stdin; every session of the user ends."`
	Delete   userDeleteCmd   `cmd:"" help:"Delete a user and their sessions."`
}

// noSuchUser names the user that was not found.
func noSuchUser(err error, email string) error {
	return notFound(err, "no user with email %s", email)
}

// readPassword reads the password from stdin, removing one trailing newline
// (\n or \r\n) and nothing else: spaces are part of the password. It refuses
// a terminal rather than echo a typed password.
func (a *app) readPassword(cmd, email string) (string, error) {
	return a.readPasswordFor(fmt.Sprintf("user %s", cmd), email)
}

// readPasswordFor is readPassword for the command cmd ("user add", "token
// admin"), which its messages show in an example.
func (a *app) readPasswordFor(cmd, email string) (string, error) {
	example := fmt.Sprintf(`printf '%%s\n' "$PASSWORD" | tessera %s --email %s --password-stdin`, cmd, email)
	if f, ok := a.stdin.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return "", fmt.Errorf("--password-stdin reads the password from a pipe, but stdin is a terminal; for example:\n    %s", example)
	}
	b, err := io.ReadAll(io.LimitReader(a.stdin, password.MaxBytes+3))
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := string(b)
	if strings.HasSuffix(pw, "\n") {
		pw = strings.TrimSuffix(strings.TrimSuffix(pw, "\n"), "\r")
	}
	switch {
	case len(pw) > password.MaxBytes:
		return "", fmt.Errorf("the password on stdin is longer than %d bytes", password.MaxBytes)
	case pw == "":
		return "", fmt.Errorf("no password on stdin; for example:\n    %s", example)
	}
	return pw, nil
}

func noPasswordStdin(cmd, email string) error {
	return fmt.Errorf("give the password on stdin with --password-stdin (never as an argument, where other users and the shell history can see it); for example:\n    printf '%%s\\n' \"$PASSWORD\" | tessera %s --email %s --password-stdin", cmd, email)
}

type userAddCmd struct {
	Email         string   `required:"" placeholder:"EMAIL" help:"The user's email address; it is how they sign in."`
	PasswordStdin bool     `name:"password-stdin" help:"Read the password from stdin (one trailing newline is removed). Required."`
	Role          []string `name:"role" placeholder:"ROLE" help:"A role to grant; repeat the flag for several."`
	Hashing       `embed:""`
	Remote        `embed:""`
}

func (c *userAddCmd) Help() string {
	return `The password comes from stdin, never from an argument. It needs at least
8 characters and must not be a common password.

Examples:

    printf 'correct-horse-42\n' | tessera user add --email ada@example.com --password-stdin --role admin
    tessera user add --email bob@example.com --password-stdin < bob-password.txt`
}

func (c *userAddCmd) Run(a *app) error {
	if !c.PasswordStdin {
		return noPasswordStdin("user add", c.Email)
	}
	pw, err := a.readPassword("add", c.Email)
	if err != nil {
		return err
	}
	adm, done, err := a.admin(&c.Remote, "", localNeeds{hashing: &c.Hashing})
	if err != nil {
		return err
	}
	defer done()
	u, err := adm.CreateUser(a.ctx, admin.NewUser{Email: c.Email, Password: pw, Roles: c.Role})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "added %s (id %s, roles: %s)\n", u.Email, u.ID, roleList(u.Roles))
	return nil
}

type userListCmd struct {
	Search string `placeholder:"TEXT" help:"Only users whose email contains TEXT."`
	JSON   bool   `name:"json" help:"Print a JSON array instead of a table."`
	Remote `embed:""`
}

// userJSON is one user in user list --json.
type userJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Roles     []string  `json:"roles"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (c *userListCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	var users []admin.User
	q := admin.UserQuery{Search: c.Search, Limit: admin.MaxUserLimit}
	for {
		page, err := adm.Users(a.ctx, q)
		if err != nil {
			return fmt.Errorf("listing users: %w", err)
		}
		users = append(users, page.Users...)
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if c.JSON {
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			out = append(out, userJSON{ID: u.ID, Email: u.Email, Roles: append([]string{}, u.Roles...),
				Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()})
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tROLES\tDISABLED")
	for _, u := range users {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.Email, roleList(u.Roles), yesNo(u.Disabled))
	}
	return tw.Flush()
}

type userDisableCmd struct {
	Email  string `required:"" placeholder:"EMAIL" help:"The user's email address."`
	Remote `embed:""`
}

func (c *userDisableCmd) Run(a *app) error {
	return setDisabled(a, &c.Remote, c.Email, true)
}

type userEnableCmd struct {
	Email  string `required:"" placeholder:"EMAIL" help:"The user's email address."`
	Remote `embed:""`
}

func (c *userEnableCmd) Run(a *app) error {
	return setDisabled(a, &c.Remote, c.Email, false)
}

func setDisabled(a *app, r *Remote, email string, disabled bool) error {
	adm, done, err := a.admin(r, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	u, err := adm.UpdateUser(a.ctx, email, admin.UserUpdate{Disabled: &disabled})
	if err != nil {
		return noSuchUser(err, email)
	}
	if disabled {
		fmt.Fprintf(a.stdout, "disabled %s; their sessions have ended\n", u.Email)
	} else {
		fmt.Fprintf(a.stdout, "enabled %s\n", u.Email)
	}
	return nil
}

type userSetRolesCmd struct {
	Email  string   `required:"" placeholder:"EMAIL" help:"The user's email address."`
	Role   []string `name:"role" placeholder:"ROLE" help:"A role the user keeps or gets; repeat for several. None removes every role."`
	Remote `embed:""`
}

func (c *userSetRolesCmd) Help() string {
	return `The roles given replace the user's roles. Adding roles keeps the user's
sessions; removing one ends them, since they carry a privilege the user no
longer has.

Examples:

    tessera user set-roles --email ada@example.com --role admin --role billing
    tessera user set-roles --email ada@example.com     # remove every role`
}

func (c *userSetRolesCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	u, err := adm.User(a.ctx, c.Email)
	if err != nil {
		return noSuchUser(err, c.Email)
	}
	roles := append([]string{}, c.Role...) // none is [], not null, in the API
	nu, err := adm.UpdateUser(a.ctx, u.ID, admin.UserUpdate{Roles: &roles})
	if err != nil {
		return noSuchUser(err, c.Email)
	}
	fmt.Fprintf(a.stdout, "roles of %s: %s", nu.Email, roleList(nu.Roles))
	if slices.ContainsFunc(u.Roles, func(r string) bool { return !slices.Contains(nu.Roles, r) }) {
		fmt.Fprint(a.stdout, "; a role was removed, so their sessions have ended")
	}
	fmt.Fprintln(a.stdout)
	return nil
}

type userPasswdCmd struct {
	Email         string `required:"" placeholder:"EMAIL" help:"The user's email address."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the new password from stdin (one trailing newline is removed). Required."`
	Hashing       `embed:""`
	Remote        `embed:""`
}

func (c *userPasswdCmd) Run(a *app) error {
	if !c.PasswordStdin {
		return noPasswordStdin("user passwd", c.Email)
	}
	pw, err := a.readPassword("passwd", c.Email)
	if err != nil {
		return err
	}
	adm, done, err := a.admin(&c.Remote, "", localNeeds{hashing: &c.Hashing})
	if err != nil {
		return err
	}
	defer done()
	u, err := adm.UpdateUser(a.ctx, c.Email, admin.UserUpdate{Password: &pw})
	if err != nil {
		return noSuchUser(err, c.Email)
	}
	fmt.Fprintf(a.stdout, "changed the password of %s; their sessions have ended\n", u.Email)
	return nil
}

type userDeleteCmd struct {
	Email  string `required:"" placeholder:"EMAIL" help:"The user's email address."`
	Remote `embed:""`
}

func (c *userDeleteCmd) Help() string {
	return `Deletes the user's account and sessions: every session and refresh token
of the user stops working at once. Access tokens already issued stay valid
for verifiers that check only the signature, until they expire
(--access-ttl). The events log keeps the user's ID. To keep the account but
refuse sign-in, use tessera user disable instead.

Example:

    tessera user delete --email ada@example.com`
}

func (c *userDeleteCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	u, err := adm.User(a.ctx, c.Email)
	if err != nil {
		return noSuchUser(err, c.Email)
	}
	if err := adm.DeleteUser(a.ctx, u.ID); err != nil {
		return noSuchUser(err, c.Email)
	}
	fmt.Fprintf(a.stdout, "deleted %s (id %s); their sessions have ended\n", u.Email, u.ID)
	return nil
}

func roleList(roles []string) string {
	if len(roles) == 0 {
		return "-"
	}
	return strings.Join(roles, ",")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeJSON prints v as indented JSON, as every --json listing does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
