package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tessera-auth/tessera/password"
)

// NewUser is the input to CreateUser.
type NewUser struct {
	Email    string
	Password string
	Roles    []string
}

// CreateUser adds an account. The password must pass password.CheckPolicy.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	roles, err := NormalizeRoles(nu.Roles)
	if err != nil {
		return nil, err
	}
	phc, err := s.newPasswordHash(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &User{ID: newUserID(), Email: email, PasswordHash: phc, Roles: roles, CreatedAt: now, UpdatedAt: now}
	ev := Event{Type: EventUserCreated, At: now, UserID: u.ID, Data: map[string]string{"email": email}}
	if err := s.store.CreateUser(ctx, u, ev); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, Errorf(CodeConflict, "a user with this email exists")
		}
		return nil, fmt.Errorf("creating user: %w", err)
	}
	return u, nil
}

func (s *Service) newPasswordHash(ctx context.Context, pw string) (string, error) {
	if err := password.CheckPolicy(pw); err != nil {
		return "", &Error{Code: CodeWeakPassword, Message: err.Error()}
	}
	phc, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", s.hashError(err)
	}
	return phc, nil
}

// User returns the user with the given ID.
func (s *Service) User(ctx context.Context, id string) (*User, error) {
	u, err := s.store.UserByID(ctx, id)
	if err != nil {
		return nil, notFound(err, "no such user")
	}
	return u, nil
}

// UserByEmail returns the user with the given email.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		return nil, notFound(err, "no such user")
	}
	return u, nil
}

// Users lists users.
func (s *Service) Users(ctx context.Context, f UserFilter) ([]*User, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.store.ListUsers(ctx, f)
}

func notFound(err error, msg string) error {
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "%s", msg)
	}
	return err
}

// SetRoles replaces the user's roles. Removing a role ends every session and
// token issued before (TokensValidAfter): they carry privileges the user no
// longer has. Adding roles keeps sessions; the next token minted carries them.
func (s *Service) SetRoles(ctx context.Context, userID string, roles []string) (*User, error) {
	roles, err := NormalizeRoles(roles)
	if err != nil {
		return nil, err
	}
	return s.updateUser(ctx, userID, func(u *User, now time.Time) (bool, error) {
		removed := slices.ContainsFunc(u.Roles, func(r string) bool { return !slices.Contains(roles, r) })
		u.Roles = roles
		return removed, nil
	}, "roles_changed")
}

// SetPassword replaces the user's password and ends every session and token
// issued before.
func (s *Service) SetPassword(ctx context.Context, userID, pw string) (*User, error) {
	phc, err := s.newPasswordHash(ctx, pw)
	if err != nil {
		return nil, err
	}
	return s.updateUser(ctx, userID, func(u *User, now time.Time) (bool, error) {
		u.PasswordHash = phc
		return true, nil
	}, "password_changed")
}

// SetDisabled disables or re-enables a user. Disabling ends every session.
func (s *Service) SetDisabled(ctx context.Context, userID string, disabled bool) (*User, error) {
	cause := "enabled"
	if disabled {
		cause = "disabled"
	}
	return s.updateUser(ctx, userID, func(u *User, now time.Time) (bool, error) {
		u.Disabled = disabled
		return disabled, nil
	}, cause)
}

// SignOutEverywhere ends every session and token the user holds.
func (s *Service) SignOutEverywhere(ctx context.Context, userID string) (*User, error) {
	return s.updateUser(ctx, userID, func(u *User, now time.Time) (bool, error) { return true, nil }, "signed_out_everywhere")
}

// ChangePassword is the self-service change: it checks the current password,
// sets the new one, ends every other session and re-issues the caller's own
// (the session ID changes at every privilege change).
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string, c Client) (*Login, error) {
	u, err := s.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return nil, notFound(err, "no such user")
	}
	// The account's sign-in throttle applies here too: a stolen session
	// must not become a way to guess the password.
	now := s.now()
	if d := s.byEmail.begin(u.Email, now); d > 0 {
		return nil, throttled(d)
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	s.byEmail.end(u.Email, now, err == nil && !ok)
	if err != nil {
		return nil, s.hashError(err)
	}
	if !ok {
		return nil, Errorf(CodeInvalidCredentials, "current password is wrong")
	}
	if u, err = s.SetPassword(ctx, u.ID, next); err != nil {
		return nil, err
	}
	sess, tok, err := s.startSession(ctx, u, c, s.now())
	if err != nil {
		return nil, err
	}
	return &Login{Session: sess, Secret: tok, User: u}, nil
}

// DeleteUser removes a user and its sessions.
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	now := s.now()
	ev := Event{Type: EventUserDeleted, At: now, UserID: userID}
	if err := s.store.DeleteUser(ctx, userID, ev); err != nil {
		return notFound(err, "no such user")
	}
	s.cache.dropUser(userID)
	s.wake()
	return nil
}

// updateUser applies change to the stored user; when change reports that old
// sessions must end, TokensValidAfter moves to now and user.tokens_invalidated
// is appended with user.updated, in one transaction.
func (s *Service) updateUser(ctx context.Context, userID string, change func(*User, time.Time) (bool, error), cause string) (*User, error) {
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return nil, notFound(err, "no such user")
	}
	nu := *u
	nu.Roles = slices.Clone(u.Roles)
	now := s.now()
	invalidate, err := change(&nu, now)
	if err != nil {
		return nil, err
	}
	nu.UpdatedAt = now
	var ended []string
	evs := []Event{{Type: EventUserUpdated, At: now, UserID: userID, Data: map[string]string{"change": cause}}}
	if invalidate {
		// TokensValidAfter never moves back, even with a clock step.
		nu.TokensValidAfter = now
		if now.Before(u.TokensValidAfter) {
			nu.TokensValidAfter = u.TokensValidAfter
		}
		evs = append(evs, Event{Type: EventTokensInvalidated, At: nu.TokensValidAfter, UserID: userID, Data: map[string]string{"cause": cause}})
		// The store ends these sessions in the same transaction; one
		// session.revoked each lets verifiers that follow sids (guard) drop
		// tokens issued within the same second as TokensValidAfter.
		live, err := s.store.ListSessions(ctx, userID, now)
		if err != nil {
			return nil, fmt.Errorf("listing sessions: %w", err)
		}
		for _, sess := range live {
			if sess.CreatedAt.Before(nu.TokensValidAfter) {
				ended = append(ended, sess.ID)
				evs = append(evs, Event{Type: EventSessionRevoked, At: now, UserID: userID, SessionID: sess.ID, Data: map[string]string{"cause": CauseInvalidated}})
			}
		}
	}
	if err := s.store.UpdateUser(ctx, &nu, evs...); err != nil {
		return nil, notFound(err, "no such user")
	}
	s.cache.dropUser(userID)
	for _, id := range ended {
		s.cache.dropSession(id)
	}
	s.wake()
	if len(ended) > 0 {
		s.cfg.Recorder.Revoked(CauseInvalidated, len(ended))
	}
	return &nu, nil
}
