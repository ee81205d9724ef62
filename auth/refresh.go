package auth

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-auth/tessera/secret"
)

var errInvalidGrant = &Error{Code: CodeInvalidGrant, Message: "refresh token is invalid, expired or revoked"}

// successorOf derives the refresh token that replaces tok:
// HMAC-SHA256(k, tok) with k derived from the key-encryption secret. Because
// the successor is a function of the token presented, a retry of the same
// refresh (two tabs, a lost response) computes the same successor without the
// store ever holding a token in plaintext, and concurrent rotations of one
// token all agree on one successor chain.
func (s *Service) successorOf(tok secret.Token) secret.Token {
	m := hmac.New(sha256.New, s.refreshKey)
	m.Write([]byte(tok.Reveal()))
	return secret.MustFrom(bytes.NewReader(m.Sum(nil)))
}

func deriveRefreshKey(kek []byte) []byte {
	k, err := hkdf.Key(sha256.New, kek, nil, "tessera refresh-token successor v1", 32)
	if err != nil {
		panic("auth: deriving refresh key: " + err.Error())
	}
	return k
}

// Refresh rotates a refresh token (RFC 6749 §6) for the authenticated client
// c: it returns a successor and a fresh access token. The session stays the
// source of truth: the refresh fails if the session is revoked or expired or
// the user was disabled or changed. Presenting a token that was already
// rotated, after the grace window, is theft: the whole session is revoked and
// refresh.reuse_detected is appended.
func (s *Service) Refresh(ctx context.Context, c *OAuthClient, presented string, cl Client) (*TokenSet, error) {
	ts, err := s.refresh(ctx, c, presented, cl)
	s.cfg.Recorder.Refresh(refreshResult(err))
	return ts, err
}

func (s *Service) refresh(ctx context.Context, c *OAuthClient, presented string, cl Client) (*TokenSet, error) {
	tok, err := secret.Parse(presented)
	if err != nil {
		return nil, errInvalidGrant
	}
	for attempt := 0; attempt < 2; attempt++ {
		rt, err := s.store.RefreshTokenByHash(ctx, tok.Hash())
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, errInvalidGrant
			}
			return nil, fmt.Errorf("looking up refresh token: %w", err)
		}
		if rt.ClientID != c.ID {
			return nil, errInvalidGrant
		}
		now := s.now()
		next := s.successorOf(tok)
		if !rt.RotatedAt.IsZero() {
			if now.Sub(rt.RotatedAt) <= s.cfg.Tokens.RefreshGrace && rt.SuccessorHash.Equal(next.Hash()) {
				// A retry inside the grace window: the same successor, if that
				// one has not itself been used since.
				succ, err := s.store.RefreshTokenByHash(ctx, rt.SuccessorHash)
				if err == nil && succ.RotatedAt.IsZero() {
					return s.finishRefresh(ctx, rt, next, cl)
				}
			}
			return nil, s.reuseDetected(ctx, rt)
		}
		if !now.Before(rt.ExpiresAt) || !now.Before(rt.CreatedAt.Add(s.cfg.Tokens.RefreshIdle)) {
			return nil, errInvalidGrant
		}
		succ := &RefreshToken{
			Hash: next.Hash(), SessionID: rt.SessionID, ClientID: rt.ClientID, FamilyID: rt.FamilyID,
			Scope: rt.Scope, Audience: rt.Audience, CreatedAt: now, ExpiresAt: rt.ExpiresAt,
		}
		// Check the session before rotating, so that a refused refresh
		// changes nothing stored.
		if _, err := s.authenticateStored(ctx, rt.SessionID, cl); err != nil {
			return nil, errInvalidGrant
		}
		won, err := s.store.RotateRefreshToken(ctx, rt.Hash, now, succ)
		if err != nil {
			return nil, fmt.Errorf("rotating refresh token: %w", err)
		}
		if won {
			return s.finishRefresh(ctx, rt, next, cl)
		}
		// Another request rotated it between our read and write: read again,
		// and take the grace path (or the theft path) like any retry.
	}
	return nil, errInvalidGrant
}

// finishRefresh checks the session and mints the access token for the
// successor next of rt.
func (s *Service) finishRefresh(ctx context.Context, rt *RefreshToken, next secret.Token, cl Client) (*TokenSet, error) {
	p, err := s.authenticateStored(ctx, rt.SessionID, cl)
	if err != nil {
		return nil, errInvalidGrant
	}
	ts, err := s.mint(p.User.ID, p.Session.ID, rt.ClientID, rt.Scope, rt.Audience, p.User.Roles)
	if err != nil {
		return nil, err
	}
	ts.RefreshToken = next
	return ts, nil
}

// reuseDetected revokes the session of a replayed refresh token.
func (s *Service) reuseDetected(ctx context.Context, rt *RefreshToken) error {
	now := s.now()
	sess, err := s.store.SessionByID(ctx, rt.SessionID)
	if err != nil {
		return errInvalidGrant
	}
	if sess.Revoked() {
		return errInvalidGrant
	}
	evs := []Event{
		{Type: EventRefreshReuse, At: now, UserID: sess.UserID, SessionID: sess.ID, Data: map[string]string{"client_id": rt.ClientID, "family": rt.FamilyID}},
		{Type: EventSessionRevoked, At: now, UserID: sess.UserID, SessionID: sess.ID, Data: map[string]string{"cause": CauseReuse}},
	}
	ended, err := s.store.RevokeSessions(ctx, []string{sess.ID}, now, CauseReuse, evs...)
	if err != nil {
		return fmt.Errorf("revoking session after refresh-token reuse: %w", err)
	}
	s.cache.dropSession(sess.ID)
	s.wake()
	s.cfg.Recorder.ReuseDetected()
	s.cfg.Recorder.Revoked(CauseReuse, len(ended))
	s.log.Warn("refresh token reuse: session revoked", "sid", sess.ID, "user", sess.UserID, "client_id", rt.ClientID)
	return errInvalidGrant
}

// refreshExpired reports whether rt can no longer be used at now.
func (s *Service) refreshExpired(rt *RefreshToken, now time.Time) bool {
	return !rt.RotatedAt.IsZero() || !now.Before(rt.ExpiresAt) || !now.Before(rt.CreatedAt.Add(s.cfg.Tokens.RefreshIdle))
}
