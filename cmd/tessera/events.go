package main

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tessera-auth/tessera/admin"
	"github.com/tessera-auth/tessera/webhook"
)

// maxEvents bounds what one events command prints.
const maxEvents = 100_000

type eventsCmd struct {
	Type   []string `name:"type" placeholder:"TYPE" help:"Only events of this type; repeat (or separate with commas) for several."`
	User   string   `name:"user" placeholder:"ID|EMAIL" help:"Only events of this user, by ID or email."`
	Since  string   `name:"since" placeholder:"DURATION|TIME" help:"Only events at or after this time: a duration back from now (90m, 24h) or an RFC 3339 time (2026-01-02T15:04:05Z)."`
	Limit  int      `name:"limit" default:"100" placeholder:"N" help:"Print at most this many events (1 to 100000)."`
	JSON   bool     `name:"json" help:"Print a JSON array instead of a table."`
	Remote `embed:""`
}

func (c *eventsCmd) Help() string {
	return `Prints the events log, oldest first: every sign-in (and failed one),
session revocation, change to a user, client, signing key or webhook, with
its sequence number, time, user, session and details. Without --since it
starts at the beginning of the log; --limit stops it (a note on stderr says
when more events may follow: give a later --since, or a larger --limit).

Event types: ` + strings.Join(webhook.EventTypes(), ", ") + `.

Examples:

    tessera events --since 1h
    tessera events --user ada@example.com --type login.failed --since 24h
    tessera events --type session.revoked --type user.tokens_invalidated --json | jq -r '.[].user_id'`
}

// parseSince reads --since: a duration back from now, or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, errors.New("--since must be a positive duration, such as 90m or 24h (back from now)")
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since must be a duration back from now, such as 90m or 24h, or an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", s)
}

func (c *eventsCmd) Run(a *app) error {
	if c.Limit < 1 || c.Limit > maxEvents {
		return fmt.Errorf("--limit must be 1 to %d", maxEvents)
	}
	since, err := parseSince(c.Since, a.now())
	if err != nil {
		return err
	}
	var types []string
	for _, t := range c.Type {
		if t = strings.TrimSpace(t); t == "" {
			return errors.New("--type must name an event type, such as login.failed (tessera events --help lists them)")
		}
		types = append(types, t)
	}
	adm, done, err := a.admin(&c.Remote, "", localNeeds{})
	if err != nil {
		return err
	}
	defer done()
	q := admin.EventQuery{Types: types, Since: since}
	if c.User != "" {
		q.UserID = c.User
		if strings.Contains(c.User, "@") {
			u, err := adm.User(a.ctx, c.User)
			if err != nil {
				return noSuchUser(err, c.User)
			}
			q.UserID = u.ID
		}
	}
	events := []admin.Event{}
	more := false
	for {
		q.Limit = min(c.Limit-len(events), admin.MaxEventLimit)
		page, err := adm.Events(a.ctx, q)
		if err != nil {
			return fmt.Errorf("reading the events log: %w", err)
		}
		events = append(events, page.Events...)
		if page.Next == "" {
			break
		}
		if len(events) >= c.Limit {
			more = true
			break
		}
		if q.After, err = strconv.ParseInt(page.Next, 10, 64); err != nil {
			return fmt.Errorf("reading the events log: a page ended with the malformed cursor %q", page.Next)
		}
	}
	if more {
		fmt.Fprintf(a.stderr, "(the first %d events; more may follow: give a later --since, or a larger --limit)\n", len(events))
	}
	if c.JSON {
		return writeJSON(a.stdout, events)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tTYPE\tUSER\tSID\tDATA")
	for _, ev := range events {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", ev.Seq, ev.At.UTC().Format(time.RFC3339), ev.Type, dash(ev.UserID), dash(ev.SessionID), eventData(ev.Data))
	}
	return tw.Flush()
}

// eventData shows an event's details as key=value pairs in key order.
func eventData(data map[string]string) string {
	if len(data) == 0 {
		return "-"
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(data)) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		v := oneLine(data[k])
		if v == "" || strings.ContainsAny(v, " \"") {
			v = strconv.Quote(v)
		}
		fmt.Fprintf(&b, "%s=%s", k, v)
	}
	return b.String()
}
