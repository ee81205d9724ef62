package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/tessera-auth/tessera/accesstoken"
)

// secretKeyFile is the name of the generated key-encryption secret in the
// data folder.
const secretKeyFile = "secret.key"

// secretKeyBytes is the length of the key-encryption secret.
const secretKeyBytes = 32

// secretKey is the key-encryption secret and where it came from, for
// messages (never the value).
type secretKey struct {
	KEK       []byte
	Source    string // "--secret-key (TESSERA_SECRET_KEY)" or the file's path
	Generated bool   // the file was generated just now
}

// explain adds to an error of loading the signing keys where the secret in
// use came from, when the keys cannot be opened with it.
func (sk *secretKey) explain(err error) error {
	switch {
	case !errors.Is(err, accesstoken.ErrSealed):
		return err
	case sk.Generated:
		return fmt.Errorf("%w; %s was generated just now, but the store's keys were sealed with another secret: restore the original file (or give that secret in TESSERA_SECRET_KEY)", err, sk.Source)
	}
	return fmt.Errorf("%w; the secret in use is from %s", err, sk.Source)
}

// loadSecretKey returns the key-encryption secret that seals the signing keys
// at rest: --secret-key (TESSERA_SECRET_KEY) when given; otherwise, for the
// embedded SQLite store, <data>/secret.key, generated there on first use.
//
// storeKind is Global.StoreKind. Every kind other than sqlite needs the
// secret given explicitly: a shared database is used by several nodes, which
// must share the secret, so none of them may invent one that the others
// cannot read.
func loadSecretKey(g *Global, storeKind string, log *slog.Logger) (*secretKey, error) {
	const flag = "--secret-key (TESSERA_SECRET_KEY)"
	if g.SecretKey != "" {
		kek, err := parseSecretKey(g.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		return &secretKey{KEK: kek, Source: flag}, nil
	}
	switch storeKind {
	case "sqlite":
		path := filepath.Join(g.Data, secretKeyFile)
		kek, created, err := readOrCreateSecretKey(path)
		if err != nil {
			return nil, err
		}
		if created && log != nil {
			log.Info("generated the key-encryption secret; back it up with the database, which is useless without it", "path", path)
		}
		return &secretKey{KEK: kek, Source: path, Generated: created}, nil
	}
	kind := storeKind
	if kind == "postgres" {
		kind = "PostgreSQL"
	}
	return nil, fmt.Errorf("%s is required with a %s store: generate one with `head -c32 /dev/urandom | base64` and give every node the same", flag, kind)
}

// parseSecretKey decodes a key-encryption secret: 32 bytes in standard
// base64, surrounding white space ignored. Its errors never quote the value.
func parseSecretKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not standard base64; generate a secret with: openssl rand -base64 32")
	}
	if len(b) != secretKeyBytes {
		return nil, fmt.Errorf("must be %d bytes (44 characters of base64), not %d bytes; generate one with: openssl rand -base64 32", secretKeyBytes, len(b))
	}
	return b, nil
}

// readOrCreateSecretKey reads the secret at path, or generates it there with
// mode 0600 when there is no file. Two processes starting at once agree on
// one secret: the file appears complete or not at all (written aside, then
// hard-linked into place, which fails if the other process was first).
func readOrCreateSecretKey(path string) (kek []byte, created bool, err error) {
	kek, err = readSecretKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return kek, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating the data folder: %w", err)
	}
	b := make([]byte, secretKeyBytes)
	rand.Read(b)                                    // never fails (crypto/rand since Go 1.24)
	tmp, err := os.CreateTemp(dir, ".secret.key-*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("generating %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(b) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("generating %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process made it first
			kek, err := readSecretKey(path)
			return kek, false, err
		}
		return nil, false, fmt.Errorf("generating %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		d.Sync()
		d.Close()
	}
	return b, true, nil
}

// readSecretKey reads a secret.key file, refusing one that other users can
// read or write.
func readSecretKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("reading the key-encryption secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading the key-encryption secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s is accessible to other users (mode %04o) and holds the secret that seals the signing keys; refusing to use it: run chmod 600 %s (and consider the secret exposed)", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("reading the key-encryption secret: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, fmt.Errorf("%s is empty: restore it from a backup, or remove it to generate a new secret if no signing key was sealed with the old one", path)
	}
	kek, err := parseSecretKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kek, nil
}
