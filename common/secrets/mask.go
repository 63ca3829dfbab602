package secrets

import (
	"io"
	"sort"
	"strings"
	"sync"
)

// sensitiveNames are the words that make a variable or extra field secret,
// as Airflow's [core] sensitive_var_conn_names defaults.
var sensitiveNames = []string{"access_token", "api_key", "apikey", "authorization", "passphrase", "passwd", "password", "private_key", "secret", "token", "keyfile_dict", "service_account"}

// IsSensitiveName reports whether a key names a secret.
func IsSensitiveName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range sensitiveNames {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Masker replaces secret values with *** in what it writes.
type Masker struct {
	mu       sync.Mutex
	secrets  []string
	replacer *strings.Replacer
}

// Add registers secret values; very short ones are ignored, as in Airflow,
// since masking them would garble ordinary output.
func (m *Masker) Add(values ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < 3 {
			continue
		}
		m.secrets = append(m.secrets, v)
	}
	// Longest first, so that a secret containing another is masked whole.
	sort.Slice(m.secrets, func(i, j int) bool { return len(m.secrets[i]) > len(m.secrets[j]) })
	pairs := make([]string, 0, 2*len(m.secrets))
	for _, s := range m.secrets {
		pairs = append(pairs, s, "***")
	}
	m.replacer = strings.NewReplacer(pairs...)
}

// Mask returns s with every secret replaced.
func (m *Masker) Mask(s string) string {
	m.mu.Lock()
	r := m.replacer
	m.mu.Unlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}

// Writer returns a writer that masks line by line before writing to w, so
// that a secret split across two writes is still caught. Call Flush at the
// end for a last line without newline.
func (m *Masker) Writer(w io.Writer) *MaskWriter { return &MaskWriter{m: m, w: w} }

// MaskWriter is a line-buffered masking writer.
type MaskWriter struct {
	m   *Masker
	w   io.Writer
	buf []byte
}

// maxLine bounds the buffer: a longer line is masked and written in parts.
const maxLine = 64 << 10

func (mw *MaskWriter) Write(p []byte) (int, error) {
	mw.buf = append(mw.buf, p...)
	for {
		i := strings.IndexByte(string(mw.buf), '\n')
		if i < 0 {
			if len(mw.buf) > maxLine {
				if _, err := io.WriteString(mw.w, mw.m.Mask(string(mw.buf))); err != nil {
					return 0, err
				}
				mw.buf = mw.buf[:0]
			}
			return len(p), nil
		}
		if _, err := io.WriteString(mw.w, mw.m.Mask(string(mw.buf[:i+1]))); err != nil {
			return 0, err
		}
		mw.buf = mw.buf[i+1:]
	}
}

// Flush writes what is buffered.
func (mw *MaskWriter) Flush() error {
	if len(mw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(mw.w, mw.m.Mask(string(mw.buf)))
	mw.buf = mw.buf[:0]
	return err
}
