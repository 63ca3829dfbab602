package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestEncryptDecryptAndRotate(t *testing.T) {
	k1, _ := GenerateKey()
	k2, _ := GenerateKey()
	old, err := NewKeyring(k1)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := old.Encrypt("hunter2")
	if err != nil || sealed == "hunter2" || strings.Contains(sealed, "hunter2") {
		t.Fatalf("sealed = %q, %v", sealed, err)
	}
	if p, err := old.Decrypt(sealed); err != nil || p != "hunter2" {
		t.Fatalf("decrypt = %q, %v", p, err)
	}
	// Rotation: new key first, old key still opens old values.
	both, _ := NewKeyring(k2 + "," + k1)
	rotated, err := both.Rotate(sealed)
	if err != nil {
		t.Fatal(err)
	}
	onlyNew, _ := NewKeyring(k2)
	if p, err := onlyNew.Decrypt(rotated); err != nil || p != "hunter2" {
		t.Fatalf("after rotation the new key alone: %q, %v", p, err)
	}
	_, err = onlyNew.Decrypt(sealed)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("old value with only the new key: %v, want ErrNoKey", err)
	}
	// The error names the key the value needs and the keys at hand.
	oldFP, newFP := old.Fingerprints()[0], onlyNew.Fingerprints()[0]
	if msg := err.Error(); !strings.Contains(msg, "key "+oldFP) || !strings.Contains(msg, "holds "+newFP) || !strings.Contains(msg, "GUST__CORE__FERNET_KEY") {
		t.Errorf("missing-key error = %q; want it to name key %s, the held key %s and the remedy", msg, oldFP, newFP)
	}
	none, _ := NewKeyring("")
	if _, err := none.Decrypt(sealed); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), "no [core] fernet_key is set") {
		t.Errorf("decrypt without keys = %v; want a missing-key error that says no key is set", err)
	}
	// Values of the older format (no key named) still open.
	if p, err := old.Decrypt("gust1:" + strings.SplitN(sealed, ":", 3)[2]); err != nil || p != "hunter2" {
		t.Errorf("gust1 value: %q, %v", p, err)
	}
	// Tampering is detected (AEAD).
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := old.Decrypt(tampered); err == nil {
		t.Fatal("a tampered ciphertext decrypted")
	}
	if _, err := NewKeyring("c2hvcnQ="); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

func TestMaskWriter(t *testing.T) {
	var m Masker
	m.Add("s3cr3t-value", "ab", "s3cr3t")
	var out bytes.Buffer
	w := m.Writer(&out)
	for _, chunk := range []string{"token=s3cr", "3t-value and s3cr3t\nab is short", " ok"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "token=*** and ***\nab is short ok"; got != want {
		t.Errorf("masked %q, want %q", got, want)
	}
	if !IsSensitiveName("DB_PASSWORD") || IsSensitiveName("region") {
		t.Error("sensitive names")
	}
}
