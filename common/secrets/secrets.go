// Package secrets encrypts values at rest (variable values, connection
// passwords and extras) with AES-256-GCM under the keys of [core] fernet_key,
// and masks secret values in task output, as Airflow's secrets masker.
//
// [core] fernet_key is a comma-separated list of base64 keys of 32 bytes
// (`gust config generate-key` makes one; an Airflow Fernet key string works
// too). The first key encrypts; every key decrypts, so a key is rotated by
// putting the new one first, running `gust rotate-fernet-key`, then
// dropping the old one.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Ciphertext formats: "gust2:<key fingerprint>:<base64 nonce+sealed>", and
// the older "gust1:<base64>" that names no key (still read).
const (
	prefix   = "gust2:"
	prefixV1 = "gust1:"
)

// Keyring holds the configured keys.
type Keyring struct {
	aeads []cipher.AEAD
	fps   []string // fingerprint of each key, same order
}

// Fingerprint names a key without revealing it: the first 8 hex digits of
// its SHA-256. Error messages and `gust config list` show fingerprints so
// that an operator can tell which key a value needs.
func Fingerprint(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// Fingerprints returns the fingerprints of the configured keys, the
// encrypting one first.
func (k *Keyring) Fingerprints() []string { return append([]string(nil), k.fps...) }

// NewKeyring parses a [core] fernet_key value; "" gives a keyring that
// does not encrypt.
func NewKeyring(spec string) (*Keyring, error) {
	k := &Keyring{}
	for i, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		key, err := decodeKey(s)
		if err != nil {
			return nil, fmt.Errorf("[core] fernet_key: key %d: %w", i+1, err)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("[core] fernet_key: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("[core] fernet_key: key %d: %w", i+1, err)
		}
		k.aeads = append(k.aeads, aead)
		k.fps = append(k.fps, Fingerprint(key))
	}
	return k, nil
}

func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawURLEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("want 32 bytes, got %d", len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// GenerateKey returns a new random key in the fernet_key format.
func GenerateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.URLEncoding.EncodeToString(b), nil
}

// Enabled reports whether values are encrypted.
func (k *Keyring) Enabled() bool { return len(k.aeads) > 0 }

// Encrypt seals plain under the first key. The caller records whether the
// value is encrypted (Enabled) next to it.
func (k *Keyring) Encrypt(plain string) (string, error) {
	if !k.Enabled() {
		return plain, nil
	}
	a := k.aeads[0]
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("encrypt: %w", err)
	}
	return prefix + k.fps[0] + ":" + base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, []byte(plain), nil)), nil
}

// ErrNoKey means a value is encrypted but no configured key opens it; the
// error that wraps it is a *MissingKeyError naming the key.
var ErrNoKey = errors.New("no key in [core] fernet_key decrypts this value")

// MissingKeyError says which key a value needs and which keys this process
// has, so that an operator can tell a rotated-out key from a process that
// was given another home's generated key.
type MissingKeyError struct {
	Need string   // fingerprint of the key that sealed the value ("" for old values)
	Have []string // fingerprints of the configured keys
}

func (e *MissingKeyError) Error() string {
	need := "a key that is not configured"
	if e.Need != "" {
		need = "key " + e.Need
	}
	if len(e.Have) == 0 {
		return fmt.Sprintf("the value is encrypted with %s and no [core] fernet_key is set: give this process the cluster's key (GUST__CORE__FERNET_KEY)", need)
	}
	return fmt.Sprintf("the value is encrypted with %s, which [core] fernet_key does not hold (it holds %s): give every process of the cluster the same keys (GUST__CORE__FERNET_KEY), and keep a rotated-out key until `gust rotate-fernet-key` has run",
		need, strings.Join(e.Have, ", "))
}

func (e *MissingKeyError) Unwrap() error { return ErrNoKey }

// Decrypt opens a value sealed by Encrypt with the key it names (any
// configured key for values of the older format).
func (k *Keyring) Decrypt(sealed string) (string, error) {
	var need, body string
	switch {
	case strings.HasPrefix(sealed, prefix):
		var ok bool
		if need, body, ok = strings.Cut(strings.TrimPrefix(sealed, prefix), ":"); !ok {
			return "", errors.New("decrypt: malformed gust ciphertext")
		}
	case strings.HasPrefix(sealed, prefixV1):
		body = strings.TrimPrefix(sealed, prefixV1)
	default:
		return "", errors.New("decrypt: not a gust ciphertext")
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", fmt.Errorf("decrypt: %w", err)
	}
	for i, a := range k.aeads {
		if need != "" && k.fps[i] != need {
			continue
		}
		if len(raw) < a.NonceSize() {
			return "", errors.New("decrypt: ciphertext too short")
		}
		plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil)
		if err == nil {
			return string(plain), nil
		}
		if need != "" {
			return "", fmt.Errorf("decrypt with key %s: the value was altered or is corrupt", need)
		}
	}
	return "", &MissingKeyError{Need: need, Have: k.Fingerprints()}
}

// Rotate re-encrypts a sealed value under the first key.
func (k *Keyring) Rotate(sealed string) (string, error) {
	plain, err := k.Decrypt(sealed)
	if err != nil {
		return "", err
	}
	return k.Encrypt(plain)
}
