package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/tessera-auth/tessera/auth"
)

// The client commands manage registered OAuth clients: servers that get
// tokens of their own with client_credentials, resource servers that
// introspect, and apps whose user tokens are bound to them.
type clientCmd struct {
	Add    clientAddCmd    `cmd:"" help:"Register an OAuth client; prints its ID and its secret, once."`
	List   clientListCmd   `cmd:"" help:"List the registered OAuth clients."`
	Remove clientRemoveCmd `cmd:"" help:"Remove an OAuth client: its tokens stop refreshing and introspecting."`
}

type clientAddCmd struct {
	Name   string   `required:"" placeholder:"NAME" help:"A name for people: what the client is (1 to 200 characters)."`
	Scope  []string `name:"scope" placeholder:"SCOPE" help:"A scope the client may request; repeat for several. Tessera's own: introspect (introspect any token), events (the revocation stream), admin."`
	JSON   bool     `name:"json" help:"Print {\"client_id\": …, \"client_secret\": …} on one line instead of a table."`
	Remote `embed:""`
}

func (c *clientAddCmd) Help() string {
	return `Registers a confidential client and prints its client ID and secret. The
secret is stored only as a hash: it is shown now and never again, so keep it
in your secret manager. A lost secret means removing the client and adding a
new one.

The client authenticates to /oauth2/token, /oauth2/introspect and
/oauth2/revoke with HTTP Basic (client_secret_basic) or form fields
(client_secret_post).

Examples:

    tessera client add --name billing-worker --scope invoices:read
    tessera client add --name api-gateway --scope introspect --json | jq -r .client_secret

A client with the admin scope can use the admin API, and so every command
here with --url (see tessera token admin --help):

    tessera client add --name ops --scope admin --json`
}

// newClientJSON is client add --json: exactly these two members.
type newClientJSON struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func (c *clientAddCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	nc, err := adm.CreateClient(a.ctx, c.Name, c.Scope)
	if err != nil {
		return err
	}
	if c.JSON {
		b, err := json.Marshal(newClientJSON{ClientID: nc.Client.ID, ClientSecret: nc.Secret.Reveal()})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "client_id\t%s\n", nc.Client.ID)
	fmt.Fprintf(tw, "client_secret\t%s\n", nc.Secret.Reveal())
	fmt.Fprintf(tw, "name\t%s\n", nc.Client.Name)
	fmt.Fprintf(tw, "scopes\t%s\n", roleList(nc.Client.Scopes))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, "\nThe secret cannot be shown again: store it now (Tessera keeps only its hash).")
	return err
}

type clientListCmd struct {
	JSON   bool `name:"json" help:"Print a JSON array instead of a table."`
	Remote `embed:""`
}

// clientJSON is one client in client list --json.
type clientJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
}

func (c *clientListCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	clients, err := adm.Clients(a.ctx)
	if err != nil {
		return fmt.Errorf("listing clients: %w", err)
	}
	if c.JSON {
		out := make([]clientJSON, 0, len(clients))
		for _, cl := range clients {
			out = append(out, clientJSON{ID: cl.ID, Name: cl.Name, Scopes: append([]string{}, cl.Scopes...), CreatedAt: cl.CreatedAt.UTC()})
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED")
	for _, cl := range clients {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cl.ID, cl.Name, roleList(cl.Scopes), cl.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

type clientRemoveCmd struct {
	ID     string `arg:"" name:"id" placeholder:"CLIENT_ID" help:"The client's ID (cl_…), as client add printed it."`
	Remote `embed:""`
}

func (c *clientRemoveCmd) Help() string {
	return `Removes the client: it can no longer authenticate, its refresh tokens stop
working and its access tokens stop introspecting as active. Access tokens
already issued stay valid for verifiers that check only the signature, until
they expire (--access-ttl).

Example:

    tessera client remove cl_Zx3kR9aQ2mLw8VYt`
}

func (c *clientRemoveCmd) Run(a *app) error {
	if c.ID == auth.FirstPartyClientID {
		return fmt.Errorf("%s is the built-in first-party client; it cannot be removed", c.ID)
	}
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	if err := adm.RemoveClient(a.ctx, c.ID); err != nil {
		return notFound(err, "no client with ID %s (tessera client list shows them)", c.ID)
	}
	_, err = fmt.Fprintf(a.stdout, "removed client %s\n", c.ID)
	return err
}
