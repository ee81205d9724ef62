package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tessera-auth/tessera/secret"
)

// NewClient is a registered client and its secret, shown once.
type NewClient struct {
	Client *OAuthClient
	Secret secret.Token
}

// CreateClient registers a confidential client allowed the given scopes.
func (s *Service) CreateClient(ctx context.Context, name string, scopes []string) (*NewClient, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return nil, Errorf(CodeInvalidRequest, "client name must have 1 to 200 characters")
	}
	list, err := parseScope(strings.Join(scopes, " "))
	if err != nil {
		return nil, err
	}
	now := s.now()
	tok := secret.New()
	c := &OAuthClient{ID: "cl_" + secret.RandomID(12), Name: name, SecretHash: tok.Hash(), Scopes: list, CreatedAt: now}
	ev := Event{Type: EventClientCreated, At: now, Data: map[string]string{"client_id": c.ID, "name": name}}
	if err := s.store.CreateClient(ctx, c, ev); err != nil {
		return nil, fmt.Errorf("creating client: %w", err)
	}
	return &NewClient{Client: c, Secret: tok}, nil
}

// Clients lists registered clients.
func (s *Service) Clients(ctx context.Context) ([]*OAuthClient, error) {
	return s.store.ListClients(ctx)
}

// RemoveClient deletes a client; its tokens stop being refreshed and its
// access tokens stop introspecting as active.
func (s *Service) RemoveClient(ctx context.Context, id string) error {
	ev := Event{Type: EventClientRemoved, At: s.now(), Data: map[string]string{"client_id": id}}
	if err := s.store.DeleteClient(ctx, id, ev); err != nil {
		return notFound(err, "no such client")
	}
	s.wake()
	return nil
}

// errInvalidClient is RFC 6749's invalid_client.
var errInvalidClient = &Error{Code: CodeInvalidClient, Message: "client authentication failed"}

// AuthenticateClient checks a client's credentials. The built-in first-party
// client is public: it authenticates by ID alone and must not send a secret.
func (s *Service) AuthenticateClient(ctx context.Context, id, sec string) (*OAuthClient, error) {
	if id == FirstPartyClientID {
		if sec != "" {
			return nil, errInvalidClient
		}
		return &OAuthClient{ID: FirstPartyClientID, Name: "Tessera (first party, public)"}, nil
	}
	if id == "" || sec == "" || len(id) > 256 || len(sec) > 256 {
		return nil, errInvalidClient
	}
	c, err := s.store.ClientByID(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			// Spend the same constant-time compare as a known client.
			secret.HashBytes(sec).Equal(secret.Hash{})
			return nil, errInvalidClient
		}
		return nil, err
	}
	if !secret.HashBytes(sec).Equal(c.SecretHash) {
		return nil, errInvalidClient
	}
	return c, nil
}

// Public reports whether c is the built-in public client.
func (c *OAuthClient) Public() bool { return c.ID == FirstPartyClientID }

// ClientCredentials mints an access token for a confidential client itself
// (RFC 6749 §4.4). The scope must be a subset of the client's; empty means all.
func (s *Service) ClientCredentials(ctx context.Context, c *OAuthClient, scope, audience string) (*TokenSet, error) {
	if c.Public() {
		return nil, &Error{Code: CodeUnauthorizedClient, Message: "public clients cannot use client_credentials"}
	}
	want, err := parseScope(scope)
	if err != nil {
		return nil, &Error{Code: CodeInvalidScope, Message: err.(*Error).Message}
	}
	if len(want) == 0 {
		want = c.Scopes
	}
	for _, sc := range want {
		if !contains(c.Scopes, sc) {
			return nil, &Error{Code: CodeInvalidScope, Message: fmt.Sprintf("scope %q is not allowed for this client", sc)}
		}
	}
	if err := checkAudience(audience); err != nil {
		return nil, err
	}
	return s.mint(c.ID, "", c.ID, strings.Join(want, " "), audience, nil)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
