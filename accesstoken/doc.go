// Package accesstoken mints and verifies Tessera's access tokens: RFC 9068
// JWTs signed with EdDSA, ES256 or RS256, and the signing keys and JWK sets
// behind them.
//
// The package is deliberately small and free of I/O: it imports no store, no
// HTTP server code and no database driver, only the standard library,
// github.com/golang-jwt/jwt/v5 (signing methods and claim validation),
// github.com/go-json-experiment/json/jsontext (the strict JSON walk of
// headers, payloads and JWKs: duplicate names and invalid UTF-8 refused) and
// github.com/go-jose/go-jose/v4 (JWK and JWK Set encoding). The
// resource-server library imports it for verification alone.
//
// # Minting
//
//	now := time.Now()
//	key, err := accesstoken.GenerateKey(accesstoken.EdDSA, nil, now)
//	token, err := accesstoken.Sign(key, accesstoken.Claims{
//		Issuer: "https://auth.example.com", Subject: userID,
//		Audience: []string{"https://api.example.com"},
//		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(5 * time.Minute),
//		ID: jti, SessionID: sid, Scope: "openid profile", ClientID: clientID,
//	})
//
// Private keys are stored with [Key.MarshalPrivate] and [Seal], and read back
// with [Open] and [ParsePrivateKey]. The public half is published with
// [KeySet.MarshalJWKS].
//
// # Verifying
//
//	keys, err := accesstoken.ParseJWKS(jwksBody) // or NewKeySet(key1, key2)
//	ring := accesstoken.NewAtomicKeySet(keys)    // ring.Store(newer) on rotation
//	v := &accesstoken.Verifier{Keys: ring, Issuer: iss, Audience: aud}
//	claims, err := v.Verify(token)
//	if errors.Is(err, accesstoken.ErrInvalid) { /* 401 invalid_token */ }
//
// Every error that Verify returns for a bad token matches [ErrInvalid] and
// exactly one of the more specific sentinels ([ErrMalformed], [ErrTooLarge],
// [ErrAlgorithm], [ErrUnknownKey], [ErrSignature], [ErrType], [ErrHeader],
// [ErrExpired], [ErrNotYetValid], [ErrIssuer], [ErrAudience], [ErrClaims]).
// A misconfigured Verifier returns [ErrVerifierConfig], which does not match
// ErrInvalid (it is a server fault, not a bad token).
package accesstoken
