package accesstoken

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-json-experiment/json/jsontext"
)

// KeySet is an immutable set of public keys indexed by key ID: what a
// verifier trusts. It never holds private keys. A nil *KeySet is empty.
type KeySet struct {
	keys []*Key // in the order given, public-only copies
	byID map[string]*Key
}

// NewKeySet returns the set of the public halves of keys (private parts are
// dropped). Each key must have a valid ID, a supported Alg and a public key
// (or private key) of the matching type; RSA keys must have at least 2048
// bits.
//
// Errors: ErrKey for a nil or invalid key or a key ID given twice.
func NewKeySet(keys ...*Key) (*KeySet, error) {
	s := &KeySet{keys: make([]*Key, 0, len(keys)), byID: make(map[string]*Key, len(keys))}
	for _, k := range keys {
		pk, err := k.publicOnly()
		if err != nil {
			return nil, err
		}
		if err := s.add(pk); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
	}
	return s, nil
}

var errDuplicateKID = errors.New("duplicate key ID")

func (s *KeySet) add(k *Key) error {
	if _, dup := s.byID[k.ID]; dup {
		return fmt.Errorf("%w %.40q", errDuplicateKID, k.ID)
	}
	s.byID[k.ID] = k
	s.keys = append(s.keys, k)
	return nil
}

// Lookup returns a copy of the public key with ID kid (exact match; the ID is
// only ever used as a map key).
func (s *KeySet) Lookup(kid string) (*Key, bool) {
	k := s.lookup(kid)
	if k == nil {
		return nil, false
	}
	c := *k
	return &c, true
}

// lookup returns the set's own key (callers must not modify it).
func (s *KeySet) lookup(kid string) *Key {
	if s == nil {
		return nil
	}
	return s.byID[kid]
}

// Len returns the number of keys in the set.
func (s *KeySet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// Keys returns copies of the set's public keys, in the order they were given.
func (s *KeySet) Keys() []*Key {
	out := make([]*Key, 0, s.Len())
	if s != nil {
		for _, k := range s.keys {
			c := *k
			out = append(out, &c)
		}
	}
	return out
}

// KeySet returns s itself, so that a *KeySet is a [KeySource].
func (s *KeySet) KeySet() *KeySet { return s }

// MarshalJWKS returns the set as an RFC 7517 JWK Set, {"keys":[...]}, each
// key as [Key.PublicJWK] makes it: public members only, "kid", "use":"sig",
// "alg". Errors: those of go-jose's JWK encoding (none for keys that passed
// NewKeySet or ParseJWKS).
func (s *KeySet) MarshalJWKS() ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, s.Len())}
	if s != nil {
		for _, k := range s.keys {
			set.Keys = append(set.Keys, k.PublicJWK())
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("accesstoken: marshal JWKS: %w", err)
	}
	return b, nil
}

// jwkPrivateMembers are the JWK members that carry private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2; "priv" of AKP keys).
var jwkPrivateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"}

// jwkMeta is what ParseJWKS reads from a JWK before handing it to go-jose.
type jwkMeta struct {
	kty, alg, use, kid, crv string
	keyOps                  []string
	hasKeyOps               bool
	private                 string // name of a private member, if any
}

// ParseJWKS reads an RFC 7517 JWK Set, for verifiers. It accepts a key only
// when its "use" is absent or "sig", its "key_ops" (if present) include
// "verify", and its "alg" is EdDSA, ES256 or RS256; such keys are skipped
// otherwise, as are keys of an unknown "kty" and EdDSA keys on a curve other
// than Ed25519, so that a new algorithm on the server does not break old
// verifiers. An accepted key must match its alg (OKP Ed25519 for EdDSA, EC
// P-256 for ES256, RSA of at least 2048 bits for RS256) and have a kid.
//
// Errors (all wrapping ErrJWKS): malformed JSON, a document that is not an
// object with a "keys" array, duplicate members, any key carrying private
// members ("d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv"), an accepted
// alg on a key of another type or curve, a missing kid, a key go-jose cannot
// decode, an RSA key under 2048 bits, and a kid used twice.
func ParseJWKS(data []byte) (*KeySet, error) {
	var raws []jsontext.Value
	found := false
	err := walkObject(data, ErrJWKS, "JWK set", func(name string, dec *jsontext.Decoder) error {
		if name != "keys" {
			err := skipValue(dec)
			return jwksErr(err, "JWK set")
		}
		found = true
		notArray := fmt.Errorf("%w: \"keys\" is not an array of objects", ErrJWKS)
		if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '[' {
			return notArray
		}
		for dec.PeekKind() == '{' {
			raw, err := dec.ReadValue()
			if err != nil {
				return jwksErr(errJSON, "JWK set")
			}
			raws = append(raws, raw.Clone())
		}
		if tok, err := dec.ReadToken(); err != nil || tok.Kind() != ']' {
			return notArray
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: no \"keys\" member", ErrJWKS)
	}
	s := &KeySet{byID: make(map[string]*Key, len(raws))}
	for i, raw := range raws {
		k, err := parseJWK(raw)
		if err != nil {
			return nil, fmt.Errorf("%w (key %d)", err, i)
		}
		if k == nil {
			continue // skipped
		}
		if err := s.add(k); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
		}
	}
	return s, nil
}

// parseJWK returns the key of one JWK, nil (and no error) for a key to skip.
func parseJWK(raw []byte) (*Key, error) {
	var m jwkMeta
	err := walkObject(raw, ErrJWKS, "JWK", func(name string, dec *jsontext.Decoder) error {
		var err error
		switch name {
		case "kty":
			m.kty, err = readString(dec)
		case "alg":
			m.alg, err = readString(dec)
		case "use":
			m.use, err = readString(dec)
		case "kid":
			m.kid, err = readString(dec)
		case "crv":
			m.crv, err = readString(dec)
		case "key_ops":
			m.hasKeyOps = true
			m.keyOps, _, err = readStrings(dec, false)
		default:
			for _, p := range jwkPrivateMembers {
				if strings.EqualFold(name, p) && m.private == "" {
					m.private = p
				}
			}
			err = skipValue(dec)
		}
		if err != nil {
			return jwksErr(err, fmt.Sprintf("JWK member %.20q", name))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.private != "" {
		return nil, fmt.Errorf("%w: JWK %.40q carries the private member %q", ErrJWKS, m.kid, m.private)
	}
	if m.use != "" && m.use != "sig" {
		return nil, nil
	}
	if m.hasKeyOps && !contains(m.keyOps, "verify") {
		return nil, nil
	}
	alg, err := ParseAlg(m.alg)
	if err != nil {
		return nil, nil // unknown or absent alg: not ours to use
	}
	var wantKty, wantCrv string
	switch alg {
	case EdDSA:
		wantKty, wantCrv = "OKP", "Ed25519"
	case ES256:
		wantKty, wantCrv = "EC", "P-256"
	case RS256:
		wantKty = "RSA"
	}
	switch {
	case m.kty != "OKP" && m.kty != "EC" && m.kty != "RSA":
		return nil, nil // unknown key type
	case m.kty != wantKty:
		return nil, fmt.Errorf("%w: JWK %.40q: alg %s on a key of type %.10q", ErrJWKS, m.kid, alg, m.kty)
	case alg == EdDSA && m.crv == "Ed448":
		return nil, nil // EdDSA on a curve we do not implement
	case m.crv != wantCrv:
		return nil, fmt.Errorf("%w: JWK %.40q: alg %s on curve %.10q", ErrJWKS, m.kid, alg, m.crv)
	case m.kid == "":
		return nil, fmt.Errorf("%w: a %s key has no kid", ErrJWKS, alg)
	}
	if err := checkKID(m.kid); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJWKS, err)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("%w: JWK %.40q: %v", ErrJWKS, m.kid, err)
	}
	if !jwk.Valid() || !jwk.IsPublic() || jwk.KeyID != m.kid {
		return nil, fmt.Errorf("%w: JWK %.40q is not a valid public key", ErrJWKS, m.kid)
	}
	if err := checkPublic(alg, jwk.Key); err != nil {
		return nil, fmt.Errorf("%w: JWK %.40q: %v", ErrJWKS, m.kid, err)
	}
	return &Key{ID: m.kid, Alg: alg, Public: jwk.Key}, nil
}

// jwksErr turns a read-helper error into an ErrJWKS error.
func jwksErr(err error, where string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errType):
		return fmt.Errorf("%w: %s has the wrong type", ErrJWKS, where)
	default:
		return fmt.Errorf("%w: %s: invalid JSON", ErrJWKS, where)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// KeySource supplies the key set a [Verifier] trusts. A *KeySet is a
// KeySource that never changes; an [*AtomicKeySet] can be swapped under key
// rotation while verifications run.
type KeySource interface {
	// KeySet returns the current set; it is called once per verification.
	KeySet() *KeySet
}

// AtomicKeySet is a KeySource whose set can be replaced at any time, safely
// for concurrent use: each verification uses the set current when it starts.
// The zero value holds no keys (every token is refused with ErrUnknownKey).
// An AtomicKeySet must not be copied after first use.
type AtomicKeySet struct {
	p atomic.Pointer[KeySet]
}

// NewAtomicKeySet returns an AtomicKeySet holding s.
func NewAtomicKeySet(s *KeySet) *AtomicKeySet {
	a := &AtomicKeySet{}
	a.Store(s)
	return a
}

// Store replaces the current set (nil means no keys).
func (a *AtomicKeySet) Store(s *KeySet) { a.p.Store(s) }

// KeySet returns the current set (nil, an empty set, when none was stored
// or a is nil).
func (a *AtomicKeySet) KeySet() *KeySet {
	if a == nil {
		return nil
	}
	return a.p.Load()
}
