package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/webhook"
)

// The webhook commands register the endpoints that the server pushes events
// to, and show how their deliveries went. Like the other commands they work
// through admin.Admin: on a server's admin API with --url (--server-url for
// webhook add, whose --url is the endpoint), otherwise on the store directly,
// also while servers run: every server's deliverer picks a new webhook up
// within a second, and a removed one gets no request started after the
// removal.
type webhookCmd struct {
	Add        webhookAddCmd        `cmd:"" help:"Register an endpoint for some event types; prints its ID and its signing secret, once."`
	List       webhookListCmd       `cmd:"" help:"List the webhooks and where their deliveries stand."`
	Remove     webhookRemoveCmd     `cmd:"" help:"Remove a webhook and its delivery log."`
	Deliveries webhookDeliveriesCmd `cmd:"" help:"Show a webhook's latest delivery attempts, newest first."`
}

// webhookNotFound names the webhook that was not found.
func webhookNotFound(id string, err error) error {
	return notFound(err, "no webhook with ID %s (tessera webhook list shows them)", id)
}

// webhookAddRemote is Remote for webhook add, whose --url is the endpoint:
// the server's URL is --server-url there (TESSERA_URL, or the config file's
// "url", as everywhere).
type webhookAddRemote struct {
	ServerURL string `name:"server-url" env:"TESSERA_URL" placeholder:"URL" help:"Work through the admin API of the Tessera server at this base URL (elsewhere --url) instead of on --data/--store; needs --token."`
	Token     string `name:"token" env:"TESSERA_TOKEN" placeholder:"TOKEN" help:"With --server-url: a bearer token for the admin API (see tessera token admin --help). Prefer the variable to the flag."`
}

type webhookAddCmd struct {
	URL              string   `name:"url" required:"" placeholder:"URL" help:"Where to POST the events: an absolute https:// (or http://) URL; it may carry a query string, not credentials."`
	Event            []string `name:"event" required:"" placeholder:"TYPE" help:"An event type to send; repeat (or separate with commas) for several; '*' for every type, including future ones."`
	JSON             bool     `name:"json" help:"Print the webhook and its secret as one JSON object ({\"id\": …, \"secret\": …, …}) instead of a table."`
	webhookAddRemote `embed:""`
}

func (c *webhookAddCmd) Help() string {
	return `Registers an endpoint that will receive the events of the given types as
Standard Webhooks: one POST per event, with the headers webhook-id,
webhook-timestamp and webhook-signature (HMAC-SHA256 under the webhook's
signing secret). The webhook gets the events appended after it is added,
not the history. Running servers start delivering within a second; with
several nodes, each event is delivered by one of them.

The signing secret ("whsec_…") is printed now and never again: give it to
the receiver, which verifies every request with it (docs/webhooks.md). The
store keeps it sealed under the key-encryption secret, so this command needs
the server's --secret-key (TESSERA_SECRET_KEY), or with SQLite its data
folder; or, through the server, --server-url (TESSERA_URL) and --token.

Event types: ` + strings.Join(webhook.EventTypes(), ", ") + `, or '*' for all.

Examples:

    tessera webhook add --url https://hooks.example.com/tessera \
        --event session.revoked --event user.tokens_invalidated
    tessera webhook add --url https://siem.example.com/in --event '*' --json | jq -r .secret
    TESSERA_URL=https://auth.example.com TESSERA_TOKEN=$TOKEN \
        tessera webhook add --url https://hooks.example.com/tessera --event '*'`
}

// webhookJSON is a webhook in webhook list --json and add --json, with the
// member names of the admin API (GET /admin/v1/webhooks).
type webhookJSON struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	// Cursor is the Seq of the last event handled; Attempts the failed
	// attempts at the next one, due at NextAttemptAt.
	Cursor        int64      `json:"cursor"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// Secret is only in add's output.
	Secret string `json:"secret,omitempty"`
}

func toWebhookJSON(w *admin.Webhook) webhookJSON {
	j := webhookJSON{ID: w.ID, URL: w.URL, Events: append([]string{}, w.Events...), CreatedAt: w.CreatedAt.UTC(), Cursor: w.Cursor, Attempts: w.Attempts}
	if !w.NextAttemptAt.IsZero() {
		t := w.NextAttemptAt.UTC()
		j.NextAttemptAt = &t
	}
	return j
}

func (c *webhookAddCmd) Run(a *app) error {
	r := Remote{URL: c.ServerURL, Token: c.Token}
	adm, done, err := a.admin(&r, "--"+serverURLFlag, localNeeds{secret: true})
	if err != nil {
		return err
	}
	defer done()
	w, err := adm.AddWebhook(a.ctx, c.URL, c.Event)
	if err != nil {
		return err
	}
	if c.JSON {
		j := toWebhookJSON(&w.Webhook)
		j.Secret = w.Secret.Reveal()
		b, err := json.Marshal(j)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\n", w.ID)
	fmt.Fprintf(tw, "secret\t%s\n", w.Secret.Reveal())
	fmt.Fprintf(tw, "url\t%s\n", w.URL)
	fmt.Fprintf(tw, "events\t%s\n", strings.Join(w.Events, " "))
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.stdout, "\nThe secret cannot be shown again: give it to the receiver now, which verifies each request's webhook-signature with it.")
	return err
}

type webhookListCmd struct {
	JSON   bool `name:"json" help:"Print a JSON array instead of a table."`
	Remote `embed:""`
}

func (c *webhookListCmd) Help() string {
	return `Lists every webhook, oldest first: its ID, URL and event types, and where its
delivery stands. CURSOR is the sequence number of the last event handled
(delivered, skipped as not subscribed, or given up); ATTEMPTS counts the failed
attempts at the next one, which is retried at RETRY AT. Secrets are never
shown.

Examples:

    tessera webhook list
    tessera webhook list --json | jq -r '.[] | select(.attempts > 0) | .id'`
}

func (c *webhookListCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	ws, err := adm.Webhooks(a.ctx)
	if err != nil {
		return fmt.Errorf("listing webhooks: %w", err)
	}
	if c.JSON {
		out := make([]webhookJSON, 0, len(ws))
		for i := range ws {
			out = append(out, toWebhookJSON(&ws[i]))
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tURL\tEVENTS\tCURSOR\tATTEMPTS\tRETRY AT\tCREATED")
	for _, w := range ws {
		retry := "-"
		if w.Attempts > 0 && !w.NextAttemptAt.IsZero() {
			retry = w.NextAttemptAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", w.ID, w.URL, strings.Join(w.Events, ","), w.Cursor, w.Attempts, retry, w.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

type webhookRemoveCmd struct {
	ID     string `arg:"" name:"id" placeholder:"WEBHOOK_ID" help:"The webhook's ID (wh_…), as webhook add or webhook list printed it."`
	Remote `embed:""`
}

func (c *webhookRemoveCmd) Help() string {
	return `Removes the webhook and its delivery log: no request for it is started after
this (one already in flight may still arrive).

Example:

    tessera webhook remove wh_3kQ9vX0pLm2sTt7A`
}

func (c *webhookRemoveCmd) Run(a *app) error {
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	if err := adm.RemoveWebhook(a.ctx, c.ID); err != nil {
		return webhookNotFound(c.ID, err)
	}
	_, err = fmt.Fprintf(a.stdout, "removed webhook %s\n", c.ID)
	return err
}

type webhookDeliveriesCmd struct {
	ID     string `arg:"" name:"id" placeholder:"WEBHOOK_ID" help:"The webhook's ID (wh_…)."`
	Limit  int    `name:"limit" default:"50" placeholder:"N" help:"Show at most this many attempts (1 to 1000)."`
	JSON   bool   `name:"json" help:"Print a JSON array instead of a table."`
	Remote `embed:""`
}

func (c *webhookDeliveriesCmd) Help() string {
	return `Shows the webhook's latest delivery attempts, newest first: when, the event
(its webhook-id header, evt_<seq>, and its type), the attempt number, the
HTTP status the receiver answered (- when none came), how long it took, the
outcome (delivered; failed, to be retried; gave_up, after the last allowed
attempt) and why it failed. Attempts are kept for 30 days.

Examples:

    tessera webhook deliveries wh_3kQ9vX0pLm2sTt7A
    tessera webhook deliveries wh_3kQ9vX0pLm2sTt7A --limit 500 --json | jq '[.[] | select(.outcome != "delivered")]'`
}

// deliveryJSON is one attempt in webhook deliveries --json, with the member
// names of the admin API (GET /admin/v1/webhooks/{id}/deliveries) and the
// event's webhook-id header.
type deliveryJSON struct {
	WebhookID  string    `json:"webhook_id"`
	Seq        int64     `json:"seq"`
	MessageID  string    `json:"message_id"` // the webhook-id header
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	DurationMS int64     `json:"duration_ms"`
	StatusCode int       `json:"status_code,omitempty"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error,omitempty"`
}

func (c *webhookDeliveriesCmd) Run(a *app) error {
	if c.Limit < 1 || c.Limit > 1000 {
		return fmt.Errorf("--limit must be 1 to 1000")
	}
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	ds, err := adm.Deliveries(a.ctx, c.ID, c.Limit)
	if err != nil {
		return webhookNotFound(c.ID, err)
	}
	if c.JSON {
		out := make([]deliveryJSON, 0, len(ds))
		for _, d := range ds {
			out = append(out, deliveryJSON{
				WebhookID: d.WebhookID, Seq: d.Seq, MessageID: webhook.MessageID(d.Seq), EventType: d.EventType,
				Attempt: d.Attempt, At: d.At.UTC(), DurationMS: d.DurationMS,
				StatusCode: d.StatusCode, Outcome: d.Outcome, Error: d.Error,
			})
		}
		return writeJSON(a.stdout, out)
	}
	if len(ds) == 0 {
		_, err := fmt.Fprintln(a.stdout, "no delivery attempts yet")
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tEVENT\tTYPE\tATTEMPT\tSTATUS\tDURATION\tOUTCOME\tERROR")
	for _, d := range ds {
		status := "-"
		if d.StatusCode != 0 {
			status = strconv.Itoa(d.StatusCode)
		}
		errText := d.Error
		if errText == "" {
			errText = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.At.UTC().Format(time.RFC3339), webhook.MessageID(d.Seq), d.EventType,
			d.Attempt, status, time.Duration(d.DurationMS)*time.Millisecond, d.Outcome, oneLine(errText))
	}
	return tw.Flush()
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
