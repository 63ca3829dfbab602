// Package auth holds what the api-server (and later the monitor) need to know
// who calls and what they may do: Airflow's four roles, bcrypt password
// hashes, and the HS512 JWTs that POST /auth/token issues. Tokens are signed
// with [api_auth] jwt_secret, shared by every api-server, so any api-server
// accepts a token another one issued.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

// Role is one of Airflow's roles; each allows what the one before it does.
type Role int

// Roles, weakest first.
const (
	Viewer Role = iota + 1 // reads everything but the configuration
	User                   // + triggers, clears, marks, pauses, notes
	Op                     // + pools, variables, connections
	Admin                  // + users, configuration
)

var roleNames = map[Role]string{Viewer: "Viewer", User: "User", Op: "Op", Admin: "Admin"}

func (r Role) String() string { return roleNames[r] }

// ParseRole reads a role name (case-insensitive).
func ParseRole(s string) (Role, error) {
	for r, n := range roleNames {
		if strings.EqualFold(s, n) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown role %q (Viewer, User, Op or Admin)", s)
}

// Allows reports whether r has at least the rights of need.
func (r Role) Allows(need Role) bool { return r >= need }

// HashPassword returns a bcrypt hash of a password.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("the password must not be empty")
	}
	if len(password) > 72 {
		return "", errors.New("the password must be at most 72 bytes (bcrypt's limit)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when a user does not exist, so that a
// login takes as long for an unknown user as for a wrong password: a
// bcrypt hash of "not a password" at the default cost, written out so that
// no process pays for hashing it when it starts (every CLI command did).
const dummyHash = "$2a$10$wkJYOprpmZzyQ1gNZtscYuZgeLoAg5zcZb3ox4W13FBBQU/0G3rzy"

// CheckPassword reports whether password matches hash; an empty hash (no
// such user) costs the same time and never matches.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte(password))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// Claims are what a token says about its bearer.
type Claims struct {
	Role string `json:"role"`
	jwt.RegisteredClaims
}

// Tokens issues and checks tokens under one secret.
type Tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

// issuer names gust's tokens; a token of another issuer is refused.
const issuer = "gust"

// NewTokens returns a token issuer. secret is [api_auth] jwt_secret.
func NewTokens(secret string, ttl time.Duration) (*Tokens, error) {
	if len(secret) < 16 {
		return nil, errors.New("[api_auth] jwt_secret must be set, at least 16 characters (`gust config generate-key` makes one)")
	}
	return &Tokens{secret: []byte(secret), ttl: ttl, now: time.Now}, nil
}

// Issue returns a signed token for a user.
func (t *Tokens) Issue(username string, role Role) (string, error) {
	now := t.now()
	c := Claims{Role: role.String(), RegisteredClaims: jwt.RegisteredClaims{
		Subject: username, Issuer: issuer,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(t.ttl)),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// ErrBadToken is wrapped by every reason a token is refused.
var ErrBadToken = errors.New("invalid token")

// Verify checks a token's signature, algorithm, issuer and times, and
// returns its claims.
func (t *Tokens) Verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS512.Alg()}), jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.now))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, fmt.Errorf("%w: the token has expired", ErrBadToken)
		}
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrBadToken)
	}
	if _, err := ParseRole(c.Role); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return &c, nil
}
