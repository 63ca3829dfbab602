package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
)

func TestRoles(t *testing.T) {
	for _, tc := range []struct {
		have, need Role
		ok         bool
	}{
		{Viewer, Viewer, true}, {Viewer, User, false}, {User, Op, false}, {Op, User, true}, {Admin, Op, true}, {Op, Admin, false},
	} {
		if got := tc.have.Allows(tc.need); got != tc.ok {
			t.Errorf("%s allows %s = %v, want %v", tc.have, tc.need, got, tc.ok)
		}
	}
	if r, err := ParseRole("op"); err != nil || r != Op {
		t.Errorf("ParseRole(op) = %v, %v", r, err)
	}
	if _, err := ParseRole("root"); err == nil {
		t.Error("ParseRole(root) succeeded")
	}
}

func TestPasswords(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil || strings.Contains(h, "correct horse") {
		t.Fatalf("hash = %q, %v", h, err)
	}
	if !CheckPassword(h, "correct horse") || CheckPassword(h, "wrong") || CheckPassword("", "correct horse") {
		t.Error("CheckPassword accepts or refuses the wrong passwords")
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("an empty password was hashed")
	}
}

func TestTokens(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	tk, err := NewTokens(secret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s, err := tk.Issue("alice", Op)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.Verify(s)
	if err != nil || c.Subject != "alice" || c.Role != "Op" {
		t.Fatalf("verify = %+v, %v", c, err)
	}
	// Another api-server with the same secret accepts it.
	other, _ := NewTokens(secret, time.Minute)
	if _, err := other.Verify(s); err != nil {
		t.Errorf("same secret, other issuer instance: %v", err)
	}
	// A different secret, a tampered payload, an expired token, another
	// algorithm and "none" are refused.
	forger, _ := NewTokens("another secret of some length", time.Hour)
	forged, _ := forger.Issue("alice", Admin)
	parts := strings.Split(s, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	late := *tk
	late.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	hs256, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, Claims{Role: "Admin", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "alice", Issuer: issuer, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString([]byte(secret))
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, Claims{Role: "Admin", RegisteredClaims: jwt.RegisteredClaims{
		Subject: "alice", Issuer: issuer, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))}}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	for name, bad := range map[string]string{"forged": forged, "tampered": tampered, "hs256": hs256, "none": none, "garbage": "abc"} {
		if _, err := tk.Verify(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s token: %v, want ErrBadToken", name, err)
		}
	}
	if _, err := late.Verify(s); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	if _, err := NewTokens("short", time.Hour); err == nil {
		t.Error("a short secret was accepted")
	}
}

// TestDummyHash checks that the hash an unknown user's login is compared
// against costs what a real password's does, so that the two take as long.
func TestDummyHash(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("dummy hash cost %d, %v; want %d", cost, err, bcrypt.DefaultCost)
	}
	if bcrypt.CompareHashAndPassword([]byte(dummyHash), []byte("not a password")) != nil {
		t.Error("the dummy hash is not of its stated password")
	}
	if CheckPassword("", "not a password") {
		t.Error("an unknown user's login matched")
	}
}
