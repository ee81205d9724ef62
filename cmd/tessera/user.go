package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/tessera-auth/tessera/auth"
	"github.com/tessera-auth/tessera/password"
)

// The user commands work on the store directly, also while a server runs on
// it: SQLite's WAL and busy timeout let both write (PostgreSQL needs no
// help), and the servers apply the change within --events-poll because they
// follow the events log (within milliseconds with PostgreSQL, which notifies
// them).
type userCmd struct {
	Add      userAddCmd      `cmd:"" help:"Create a user; the password is read from stdin."`
	List     userListCmd     `cmd:"" help:"List users."`
	Disable  userDisableCmd  `cmd:"" help:"Disable a user: sign-in is refused and every session ends."`
	Enable   userEnableCmd   `cmd:"" help:"Enable a disabled user again."`
	SetRoles userSetRolesCmd `cmd:"" name:"set-roles" help:"Replace a user's roles; removing a role ends the user's sessions."`
	Passwd   userPasswdCmd   `cmd:"" help:"Set a user's password, read from stdin; every session of the user ends."`
}

// service opens the store (migrating it) and an auth service over it. The
// hasher is needed only by the commands that hash; the others get one with
// the default parameters, which they never use.
func (a *app) service(h *Hashing) (*auth.Service, func(), error) {
	if err := a.global.Validate(); err != nil {
		return nil, nil, err
	}
	var hasher *password.Hasher
	if h != nil {
		if err := h.Validate(); err != nil {
			return nil, nil, err
		}
		hasher = h.Hasher()
	} else {
		hasher = password.NewHasher(password.OWASP, 1, 1)
	}
	st, err := openStore(a.ctx, a.global, a.log, true)
	if err != nil {
		return nil, nil, err
	}
	svc := auth.NewService(st, hasher, auth.Config{Logger: a.log})
	return svc, func() { st.Close() }, nil
}

// userByEmail finds a user, saying which email was not found.
func userByEmail(ctx context.Context, svc *auth.Service, email string) (*auth.User, error) {
	u, err := svc.UserByEmail(ctx, email)
	if auth.ErrorCode(err) == auth.CodeNotFound {
		return nil, fmt.Errorf("no user with email %s", email)
	}
	return u, err
}

// readPassword reads the password from stdin, removing one trailing newline
// (\n or \r\n) and nothing else: spaces are part of the password. It refuses
// a terminal rather than echo a typed password.
func (a *app) readPassword(cmd, email string) (string, error) {
	example := fmt.Sprintf(`printf '%%s\n' "$PASSWORD" | tessera user %s --email %s --password-stdin`, cmd, email)
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
	return fmt.Errorf("give the password on stdin with --password-stdin (never as an argument, where other users and the shell history can see it); for example:\n    printf '%%s\\n' \"$PASSWORD\" | tessera user %s --email %s --password-stdin", cmd, email)
}

type userAddCmd struct {
	Email         string   `required:"" placeholder:"EMAIL" help:"The user's email address; it is how they sign in."`
	PasswordStdin bool     `name:"password-stdin" help:"Read the password from stdin (one trailing newline is removed). Required."`
	Role          []string `name:"role" placeholder:"ROLE" help:"A role to grant; repeat the flag for several."`
	Hashing       `embed:""`
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
		return noPasswordStdin("add", c.Email)
	}
	pw, err := a.readPassword("add", c.Email)
	if err != nil {
		return err
	}
	svc, done, err := a.service(&c.Hashing)
	if err != nil {
		return err
	}
	defer done()
	u, err := svc.CreateUser(a.ctx, auth.NewUser{Email: c.Email, Password: pw, Roles: c.Role})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "added %s (id %s, roles: %s)\n", u.Email, u.ID, roleList(u.Roles))
	return nil
}

type userListCmd struct {
	Search string `placeholder:"TEXT" help:"Only users whose email contains TEXT."`
	JSON   bool   `name:"json" help:"Print a JSON array instead of a table."`
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
	svc, done, err := a.service(nil)
	if err != nil {
		return err
	}
	defer done()
	var users []*auth.User
	f := auth.UserFilter{Search: strings.ToLower(c.Search), Limit: 1000}
	for {
		page, err := svc.Users(a.ctx, f)
		if err != nil {
			return fmt.Errorf("listing users: %w", err)
		}
		users = append(users, page...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	if c.JSON {
		out := make([]userJSON, 0, len(users))
		for _, u := range users {
			out = append(out, userJSON{ID: u.ID, Email: u.Email, Roles: append([]string{}, u.Roles...),
				Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()})
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tEMAIL\tROLES\tDISABLED")
	for _, u := range users {
		disabled := "no"
		if u.Disabled {
			disabled = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.ID, u.Email, roleList(u.Roles), disabled)
	}
	return tw.Flush()
}

type userDisableCmd struct {
	Email string `required:"" placeholder:"EMAIL" help:"The user's email address."`
}

func (c *userDisableCmd) Run(a *app) error {
	return setDisabled(a, c.Email, true)
}

type userEnableCmd struct {
	Email string `required:"" placeholder:"EMAIL" help:"The user's email address."`
}

func (c *userEnableCmd) Run(a *app) error {
	return setDisabled(a, c.Email, false)
}

func setDisabled(a *app, email string, disabled bool) error {
	svc, done, err := a.service(nil)
	if err != nil {
		return err
	}
	defer done()
	u, err := userByEmail(a.ctx, svc, email)
	if err != nil {
		return err
	}
	if _, err := svc.SetDisabled(a.ctx, u.ID, disabled); err != nil {
		return err
	}
	if disabled {
		fmt.Fprintf(a.stdout, "disabled %s; their sessions have ended\n", u.Email)
	} else {
		fmt.Fprintf(a.stdout, "enabled %s\n", u.Email)
	}
	return nil
}

type userSetRolesCmd struct {
	Email string   `required:"" placeholder:"EMAIL" help:"The user's email address."`
	Role  []string `name:"role" placeholder:"ROLE" help:"A role the user keeps or gets; repeat for several. None removes every role."`
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
	svc, done, err := a.service(nil)
	if err != nil {
		return err
	}
	defer done()
	u, err := userByEmail(a.ctx, svc, c.Email)
	if err != nil {
		return err
	}
	nu, err := svc.SetRoles(a.ctx, u.ID, c.Role)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "roles of %s: %s", nu.Email, roleList(nu.Roles))
	if slices.ContainsFunc(u.Roles, func(r string) bool { return !nu.HasRole(r) }) {
		fmt.Fprint(a.stdout, "; a role was removed, so their sessions have ended")
	}
	fmt.Fprintln(a.stdout)
	return nil
}

type userPasswdCmd struct {
	Email         string `required:"" placeholder:"EMAIL" help:"The user's email address."`
	PasswordStdin bool   `name:"password-stdin" help:"Read the new password from stdin (one trailing newline is removed). Required."`
	Hashing       `embed:""`
}

func (c *userPasswdCmd) Run(a *app) error {
	if !c.PasswordStdin {
		return noPasswordStdin("passwd", c.Email)
	}
	pw, err := a.readPassword("passwd", c.Email)
	if err != nil {
		return err
	}
	svc, done, err := a.service(&c.Hashing)
	if err != nil {
		return err
	}
	defer done()
	u, err := userByEmail(a.ctx, svc, c.Email)
	if err != nil {
		return err
	}
	if _, err := svc.SetPassword(a.ctx, u.ID, pw); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "changed the password of %s; their sessions have ended\n", u.Email)
	return nil
}

func roleList(roles []string) string {
	if len(roles) == 0 {
		return "-"
	}
	return strings.Join(roles, ",")
}
