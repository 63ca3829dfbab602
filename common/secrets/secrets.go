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
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// prefix marks gust's ciphertexts and their format version.
const prefix = "gust1:"

// Keyring holds the configured keys.
type Keyring struct {
	aeads []cipher.AEAD
}

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
	return prefix + base64.RawURLEncoding.EncodeToString(a.Seal(nonce, nonce, []byte(plain), nil)), nil
}

// ErrNoKey means a value is encrypted but no configured key opens it.
var ErrNoKey = errors.New("no key in [core] fernet_key decrypts this value (was the key rotated out?)")

// Decrypt opens a value sealed by Encrypt with any configured key.
func (k *Keyring) Decrypt(sealed string) (string, error) {
	if !strings.HasPrefix(sealed, prefix) {
		return "", errors.New("decrypt: not a gust ciphertext")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, prefix))
	if err != nil {
		return "", fmt.Errorf("decrypt: %w", err)
	}
	for _, a := range k.aeads {
		if len(raw) < a.NonceSize() {
			break
		}
		if plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil); err == nil {
			return string(plain), nil
		}
	}
	return "", ErrNoKey
}

// Rotate re-encrypts a sealed value under the first key.
func (k *Keyring) Rotate(sealed string) (string, error) {
	plain, err := k.Decrypt(sealed)
	if err != nil {
		return "", err
	}
	return k.Encrypt(plain)
}
