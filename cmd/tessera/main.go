// Command tessera is the Tessera authentication server and its admin tool:
// serve runs the HTTP API, user manages accounts, sessions their sessions,
// client the OAuth clients, keys the token signing keys, events reads the
// events log, token inspect decodes and verifies a token, webhook the
// endpoints that events are pushed to, migrate manages the schema. The store
// is embedded SQLite or, for several nodes, PostgreSQL. The admin commands
// (user, sessions, client, keys, events, webhook) work on the store, or with
// --url and --token through a running server's admin API (admin.go).
//
// The wiring lives here and only here: main parses flags, environment and
// config file into a Config (config.go); serve (serve.go) opens the store and
// hands it to a node (package node: the HTTP server and the background jobs).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/tessera-auth/tessera/auth"
)

// processClock is the clock of every command: the machine's, except in a
// test build (clock_testclock.go).
var processClock = time.Now

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, stop, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// CLI is the command tree. Global settings are flags of every command; each
// command embeds the other setting groups it reads.
type CLI struct {
	Global `embed:""`

	Serve    serveCmd    `cmd:"" help:"Run the HTTP server."`
	Migrate  migrateCmd  `cmd:"" help:"Create or upgrade the database schema, then print its version."`
	User     userCmd     `cmd:"" help:"Manage users: add, list, disable, enable, set-roles, passwd, delete."`
	Sessions sessionsCmd `cmd:"" help:"A user's sessions: list, revoke one or all."`
	Client   clientCmd   `cmd:"" help:"Manage OAuth clients: add, list, remove."`
	Keys     keysCmd     `cmd:"" help:"Manage the keys that sign access tokens: list, rotate."`
	Events   eventsCmd   `cmd:"" help:"Read the events log: sign-ins, revocations, changes; filtered by type, user and time."`
	Token    tokenCmd    `cmd:"" help:"Inspect an access token, or sign in for an admin API token."`
	Webhook  webhookCmd  `cmd:"" help:"Manage webhooks: add, list, remove, deliveries."`
	Bench    benchCmd    `cmd:"" help:"Measure sessions against JWTs on this machine; prints a table and writes an HTML report."`
	Settings settingsCmd `cmd:"" name:"config" help:"Print the effective configuration as JSON (secrets redacted)."`
	Version  versionCmd  `cmd:"" help:"Print the version, the Go version and the VCS revision."`
}

// app is what every command's Run receives: the process's context, streams,
// logger and clock, and the parsed global settings.
type app struct {
	ctx     context.Context
	stopSig func() // restores default signal handling: a second Ctrl-C kills
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	global  *Global
	log     *slog.Logger
	// now is the clock of every command, the server's included: what the
	// services take as their Now.
	now func() time.Time
}

// exitCode is how kong's Exit (after --help) unwinds run.
type exitCode int

// run executes the command line args and returns the process's exit code:
// 0, or 1 after printing "tessera: <message>" to stderr.
func run(ctx context.Context, stopSig func(), args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	var cli CLI
	a := &app{ctx: ctx, stopSig: stopSig, stdin: stdin, stdout: stdout, stderr: stderr, global: &cli.Global, now: processClock}
	parser, err := newParser(&cli, a)
	if err != nil {
		fmt.Fprintf(stderr, "tessera: %v\n", err) // a bug in the grammar
		return 1
	}
	defer func() {
		if v := recover(); v != nil {
			c, ok := v.(exitCode)
			if !ok {
				panic(v)
			}
			code = int(c)
		}
	}()
	if len(args) == 0 {
		args = []string{"--help"}
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "tessera: %s\n", err)
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil && pe.ExitCode() == 80 { // a usage error
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", strings.TrimSpace("tessera "+commandPath(pe.Context)))
		}
		return 1
	}
	a.log = newLogger(stderr, cli.LogFormat, cli.LogLevel)
	if err := kctx.Run(a); err != nil {
		fmt.Fprintf(stderr, "tessera: %s\n", message(err))
		return 1
	}
	return 0
}

func newParser(cli *CLI, a *app) (*kong.Kong, error) {
	return kong.New(cli,
		kong.Name("tessera"),
		kong.Description("Tessera: sessions and JWTs for your users, with session-grade revocation.\n\n"+
			"Every flag is also a TESSERA_* environment variable and a key of the --config file; "+
			"a flag beats the environment, which beats the file, which beats the default.\n\n"+
			"The admin commands (user, sessions, client, keys, events, webhook) work on the store "+
			"(--data or --store), or with --url and --token (TESSERA_URL, TESSERA_TOKEN) "+
			"through a running server's admin API; they are the same commands either way."),
		kong.Writers(a.stdout, a.stderr),
		kong.Exit(func(c int) { panic(exitCode(c)) }),
		kong.Configuration(loadConfig),
		kong.HelpOptions{Compact: true, WrapUpperBound: 100},
		kong.ValueFormatter(helpValue),
		kong.Bind(a),
	)
}

// commandPath is the command that a parse error happened in, for the hint.
func commandPath(ctx *kong.Context) string {
	var parts []string
	for _, p := range ctx.Path {
		if p.Command != nil {
			parts = append(parts, p.Command.Name)
		}
	}
	return strings.Join(parts, " ")
}

// helpValue appends the default and the environment variable to a flag's help.
func helpValue(v *kong.Value) string {
	var extra []string
	if v.HasDefault && v.Default != "" && !(v.IsBool() && v.Default == "false") {
		extra = append(extra, "default "+v.Default)
	}
	for _, e := range v.Tag.Envs {
		extra = append(extra, "$"+e)
	}
	if len(extra) == 0 {
		return v.Help
	}
	return v.Help + " (" + strings.Join(extra, ", ") + ")"
}

// message is the text printed for a command's error: the public message of
// an *auth.Error, the error's own text otherwise.
func message(err error) string {
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

// newLogger returns a slog logger writing to w.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opt := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opt))
	}
	return slog.New(slog.NewTextHandler(w, opt))
}
