package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gust-sched/gust/common/secrets"
)

// seedKeys are written into a new gust.cfg with the values the first process
// used, so that later commands of the same home (another shell, another
// process) find the same DAG folder and services without the environment
// that started the first one. Airflow writes a whole airflow.cfg on first
// use; gust writes only what makes a home reproducible.
var seedKeys = [][2]string{
	{"core", "dags_folder"},
	{"database", "sql_conn"},
	{"celery", "broker_url"},
	{"monitor", "redis_url"},
	{"monitor", "key_prefix"},
}

// generated are the secrets a home gets when none is configured, as Airflow
// writes a fernet key into a new airflow.cfg. wanted says whether this
// configuration needs the secret at all; a required one that cannot be
// saved stops the process (every process encrypts and decrypts), the others
// are checked by the processes that use them (the api-server signs tokens).
var generated = []struct {
	section, key string
	required     bool
	wanted       func(c *Config) bool
	gen          func() (string, error)
}{
	{"core", "fernet_key", true, func(c *Config) bool { return !c.Core.StoreSecretsUnencrypted }, secrets.GenerateKey},
	{"api_auth", "jwt_secret", false, func(*Config) bool { return true }, secrets.GenerateKey},
}

// Init makes $GUST_HOME/gust.cfg hold what every process of the home must
// share. When the file does not exist it is created (mode 0600: it holds
// secrets) with the effective values of the seed keys; a secret that is set
// neither in the file nor in the environment is generated and written into
// the file. Processes that start together agree: the file is updated under
// an exclusive lock and re-read. It returns the reloaded configuration and
// whether the file was written.
//
// A home whose file cannot be written still works for the seed keys (a
// warning), but a missing secret is then an error naming the option to set.
func Init(c *Config, environ []string) (*Config, bool, error) {
	if !c.needsInit() {
		return c, false, nil
	}
	if err := os.MkdirAll(c.Home, 0o755); err != nil {
		return c.initFailed(fmt.Errorf("create GUST_HOME %s: %w", c.Home, err))
	}
	lock, err := os.OpenFile(filepath.Join(c.Home, ".gust.cfg.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return c.initFailed(fmt.Errorf("lock %s: %w", c.File, err))
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return c.initFailed(fmt.Errorf("lock %s: %w", c.File, err))
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it too

	// Another process may have written the file meanwhile.
	cur, err := Load(c.Home, environ)
	if err != nil {
		return nil, false, err
	}
	if !cur.needsInit() {
		return cur, false, nil
	}
	text, err := os.ReadFile(cur.File)
	exists := err == nil
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return cur.initFailed(fmt.Errorf("read %s: %w", cur.File, err))
	}
	doc := string(text)
	if !exists {
		doc = "# gust configuration: Airflow's section and key names; GUST__SECTION__KEY\n" +
			"# environment variables override any key. Written on first start; see\n" +
			"# `gust config list` for every option and where its value comes from.\n"
		for _, k := range seedKeys {
			v, _ := cur.Get(k[0], k[1])
			doc = setKey(doc, k[0], k[1], v.Value)
		}
	}
	for _, g := range generated {
		if v, _ := cur.Get(g.section, g.key); v.Value != "" || !g.wanted(cur) {
			continue
		}
		secret, err := g.gen()
		if err != nil {
			return nil, false, err
		}
		doc = setKey(doc, g.section, g.key, secret)
	}
	if err := writeFileAtomic(cur.File, []byte(doc), 0o600); err != nil {
		return cur.initFailed(err)
	}
	next, err := Load(c.Home, environ)
	if err != nil {
		return nil, false, err
	}
	return next, true, nil
}

// needsInit reports whether the file is missing or a wanted secret is unset.
func (c *Config) needsInit() bool {
	if _, err := os.Stat(c.File); err != nil {
		return true
	}
	return c.missingSecret(false) != ""
}

// missingSecret names the first wanted (or required) secret with no value.
func (c *Config) missingSecret(onlyRequired bool) string {
	for _, g := range generated {
		if v, _ := c.Get(g.section, g.key); v.Value == "" && g.wanted(c) && (g.required || !onlyRequired) {
			return fmt.Sprintf("[%s] %s", g.section, g.key)
		}
	}
	return ""
}

// initFailed decides what a failed write means: nothing worse than a
// warning unless a secret could not be generated.
func (c *Config) initFailed(err error) (*Config, bool, error) {
	if name := c.missingSecret(true); name != "" {
		sec, key, _ := strings.Cut(strings.Trim(name, "["), "] ")
		return nil, false, fmt.Errorf("%s is not set and a generated one cannot be saved: %w; set it in %s or as %s%s__%s (the same value for every process of the cluster)",
			name, err, c.File, EnvPrefix, strings.ToUpper(sec), strings.ToUpper(key))
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("cannot write %s: %v", c.File, err))
	return c, false, nil
}

// setKey sets section.key in an INI text, keeping everything else as it is
// (comments, order, other keys): the key's line is replaced if present, else
// added under the section, which is appended if missing.
func setKey(doc, section, key, value string) string {
	lines := strings.Split(strings.TrimRight(doc, "\n"), "\n")
	if doc == "" {
		lines = nil
	}
	line := key + " = " + value
	in, end := false, -1 // end: the last key line of the section (or its header)
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			if in {
				break
			}
			if in = strings.EqualFold(strings.TrimSpace(t[1:len(t)-1]), section); in {
				end = i
			}
			continue
		}
		if !in || t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";") {
			continue
		}
		end = i
		if k, _, ok := strings.Cut(t, "="); ok && strings.EqualFold(strings.TrimSpace(k), key) {
			lines[i] = line
			return strings.Join(lines, "\n") + "\n"
		}
	}
	if end < 0 {
		if len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) != "" {
			lines = append(lines, "")
		}
		lines = append(lines, "["+section+"]", line)
		return strings.Join(lines, "\n") + "\n"
	}
	lines = append(lines[:end+1], append([]string{line}, lines[end+1:]...)...)
	return strings.Join(lines, "\n") + "\n"
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gust.cfg.*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
