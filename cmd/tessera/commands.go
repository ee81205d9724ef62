package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

type migrateCmd struct{}

func (c *migrateCmd) Help() string {
	return `Applies the embedded schema migrations that the database lacks, each in a
transaction, and prints the schema version. Running it again changes nothing.
It refuses a database whose schema is newer than this binary: upgrade tessera
instead. serve and the user commands migrate by themselves; this command is
for doing it explicitly, e.g. before starting several servers.`
}

func (c *migrateCmd) Run(a *app) error {
	if err := a.global.Validate(); err != nil {
		return err
	}
	st, err := openStore(a.ctx, a.global, a.log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	before, _, err := st.SchemaVersion(a.ctx)
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if err := st.Migrate(a.ctx); err != nil {
		return err
	}
	after, _, err := st.SchemaVersion(a.ctx)
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if after == before {
		fmt.Fprintf(a.stdout, "schema version %d (up to date)\n", after)
	} else {
		fmt.Fprintf(a.stdout, "schema version %d (migrated from %d)\n", after, before)
	}
	return nil
}

// settingsCmd is `tessera config`.
type settingsCmd struct {
	Remote  `embed:""`
	Hashing `embed:""`
	Server  `embed:""`
}

func (c *settingsCmd) Help() string {
	return `Prints every setting as the server would see it, from flags, TESSERA_*
variables, the --config file and defaults, as a JSON object keyed by flag
name. Secrets are redacted: a password in --store, and --secret-key and
--token as a whole (REDACTED; "" for --secret-key means <data>/secret.key is
used). Invalid settings
are reported as errors, so this also checks a configuration.

Example:

    TESSERA_ADDR=0.0.0.0:8080 tessera config --config /etc/tessera.json`
}

func (c *settingsCmd) Run(a *app) error {
	cfg := Config{Global: *a.global, Remote: c.Remote, Hashing: c.Hashing, Server: c.Server}
	if err := cfg.Validate(); err != nil {
		return err
	}
	_, err := a.stdout.Write(cfg.JSON())
	return err
}

type versionCmd struct{}

// version is set at link time: go build -ldflags "-X main.version=v1.2.3".
var version = ""

func (c *versionCmd) Run(a *app) error {
	v, rev, modified := version, "unknown", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				rev += " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " (modified)"
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	fmt.Fprintf(a.stdout, "tessera %s\ngo: %s %s/%s\nrevision: %s%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, rev, modified)
	return nil
}
