package auth

import "time"

// Recorder receives what an operator measures: sign-ins, session checks,
// refreshes and revocations, by result. Package metrics implements it for
// Prometheus; the auth package only calls it, so that it imports no metrics
// library. Config.Recorder nil records nothing.
//
// Implementations must be safe for concurrent use and cheap: SessionCheck
// runs on every authenticated request, next to a cache hit that costs about
// a microsecond, so it must not allocate or take a lock.
//
// The label values are the constants below (an unknown value is counted
// under a catch-all by package metrics), never user input.
type Recorder interface {
	// Login counts a password sign-in by result (LoginOK, …).
	Login(result string)
	// SessionCheck counts one check of a request's credential, by kind
	// (CheckCookie, CheckBearerSession, CheckJWT) and result (CheckOK, …),
	// and how long it took. The HTTP layer calls it: only it knows whether
	// a session secret came in a cookie or a bearer header.
	SessionCheck(kind, result string, d time.Duration)
	// Refresh counts a refresh-token grant by result (RefreshOK, …).
	Refresh(result string)
	// ReuseDetected counts a replayed refresh token (whose session was
	// then revoked).
	ReuseDetected()
	// Revoked counts n sessions ended with cause (the Cause constants).
	Revoked(cause string, n int)
}

// Results of Recorder.Login.
const (
	LoginOK                 = "ok"
	LoginInvalidCredentials = "invalid_credentials" // also a disabled user
	LoginThrottled          = "throttled"
	LoginBusy               = "busy" // the argon2id queue was full
	LoginInvalidRequest     = "invalid_request"
	LoginError              = "error" // the store failed
)

// Kinds and results of Recorder.SessionCheck.
const (
	CheckCookie        = "cookie"
	CheckBearerSession = "bearer_session" // a session secret as a bearer token (native apps)
	CheckJWT           = "jwt"            // an access token naming a session

	CheckOK              = "ok"
	CheckUnauthenticated = "unauthenticated"
	CheckError           = "error"
)

// Results of Recorder.Refresh.
const (
	RefreshOK           = "ok"
	RefreshInvalidGrant = "invalid_grant" // unknown, expired, revoked or replayed
	RefreshError        = "error"
)

// LoginResult is the Recorder.Login result of a Login error.
func LoginResult(err error) string {
	switch ErrorCode(err) {
	case "":
		return LoginOK
	case CodeInvalidCredentials:
		return LoginInvalidCredentials
	case CodeThrottled:
		return LoginThrottled
	case CodeBusy:
		return LoginBusy
	case CodeInvalidRequest:
		return LoginInvalidRequest
	}
	return LoginError
}

// CheckResult is the Recorder.SessionCheck result of a session-check error.
func CheckResult(err error) string {
	switch ErrorCode(err) {
	case "":
		return CheckOK
	case CodeUnauthenticated:
		return CheckUnauthenticated
	}
	return CheckError
}

func refreshResult(err error) string {
	switch ErrorCode(err) {
	case "":
		return RefreshOK
	case CodeInvalidGrant:
		return RefreshInvalidGrant
	}
	return RefreshError
}

type nopRecorder struct{}

func (nopRecorder) Login(string)                               {}
func (nopRecorder) SessionCheck(string, string, time.Duration) {}
func (nopRecorder) Refresh(string)                             {}
func (nopRecorder) ReuseDetected()                             {}
func (nopRecorder) Revoked(string, int)                        {}

// Recorder returns the recorder the service reports to (a no-op one when
// Config.Recorder is nil), for the layers above that measure on its behalf.
func (s *Service) Recorder() Recorder { return s.cfg.Recorder }
