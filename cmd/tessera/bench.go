package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tessera-auth/tessera/bench"
)

type benchCmd struct {
	Remote  `embed:""` // --url, --token: measure a running deployment
	Hashing `embed:""` // the argon2id parameters of the login scenario and its floor

	Duration    time.Duration `default:"5s" help:"Measured time of each scenario at each concurrency."`
	Concurrency []int         `default:"8" sep:"," placeholder:"N,N" help:"Closed-loop workers; a list sweeps, e.g. 1,8,64."`
	Scenarios   []string      `sep:"," placeholder:"NAME,…" help:"Scenario names or prefixes (floor, session, jwt, hybrid, authz, login, refresh, client-credentials, revocation, growth, growth-1m); default: all but growth-1m."`
	SkipGrowth  bool          `name:"skip-growth" help:"Leave out the growth scenarios (10k and 100k stored sessions)."`
	Revocations int           `default:"50" placeholder:"N" help:"Revocations observed per revocation-lag scenario."`
	JSON        bool          `name:"json" help:"Print one JSON object per scenario and line instead of the table."`
	Out         string        `default:"tessera-bench.html" placeholder:"PATH" help:"Where to write the self-contained HTML report."`
}

func (c *benchCmd) Help() string {
	return `Measures the session and JWT trade-off on this machine: by default it starts a
server in-process on loopback with a temporary embedded store, creates its own
users, sessions and clients, runs every scenario, prints a table and writes an
HTML report with charts. Each figure comes with a ratio to a floor measured in
the same run (an unauthenticated endpoint of the same server, raw argon2id,
a resource server without guard): the load generator shares the machine with
the server, so the ratio, not the absolute figure, is the headline.

With --store postgres://… the in-process server runs on that PostgreSQL, in a
schema of its own that is dropped afterwards. With --url and --token it measures
a running deployment instead, creating what it needs through the admin API.

Examples:

    tessera bench
    tessera bench --duration 10s --concurrency 1,8,64 --out report.html
    tessera bench --scenarios session,revocation --json
    tessera bench --scenarios growth-1m`
}

func (c *benchCmd) Run(a *app) error {
	if err := c.Remote.Validate("--url"); err != nil {
		return err
	}
	if err := c.Hashing.Validate(); err != nil {
		return err
	}
	opts := bench.Options{
		URL: c.URL, Token: c.Token, Duration: c.Duration, Concurrency: c.Concurrency,
		Scenarios: c.Scenarios, SkipGrowth: c.SkipGrowth, Revocations: c.Revocations,
		Argon2: c.Hashing.Params(), SQLiteSynchronous: a.global.SQLiteSynchronous, JSON: c.JSON, Out: c.Out,
	}
	if s := a.global.Store; strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		opts.Store = s
	}
	rep, err := bench.Run(a.ctx, opts, a.stderr)
	if rep == nil {
		return err
	}
	if c.JSON {
		rep.WriteJSON(a.stdout)
	} else {
		rep.WriteTable(a.stdout)
	}
	f, ferr := os.Create(c.Out)
	if ferr != nil {
		return errors.Join(err, ferr)
	}
	if werr := errors.Join(rep.WriteHTML(f), f.Close()); werr != nil {
		return errors.Join(err, werr)
	}
	fmt.Fprintf(a.stderr, "report: %s\n", c.Out)
	return err
}
