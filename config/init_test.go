package config

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gust-sched/gust/common/secrets"
)

func load(t *testing.T, home string, env ...string) *Config {
	t.Helper()
	c, err := Load(home, env)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInitWritesANewHome(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	env := []string{"GUST__CORE__DAGS_FOLDER=/srv/dags", "GUST__DATABASE__SQL_CONN=postgres://u@127.0.0.1:5432/other"}
	c, wrote, err := Init(load(t, home, env...), env)
	if err != nil || !wrote {
		t.Fatalf("Init = %v, wrote %v", err, wrote)
	}
	if c.Core.FernetKey == "" || c.APIAuth.JWTSecret == "" {
		t.Fatal("no fernet key or JWT secret after Init")
	}
	st, err := os.Stat(c.File)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("gust.cfg: %v, mode %v; want 0600 (it holds a secret)", err, st.Mode())
	}
	// Another process of the home, without the first one's environment,
	// sees the same folder, database and key.
	again := load(t, home)
	if again.Core.DagsFolder != "/srv/dags" || again.Database.SQLConn != "postgres://u@127.0.0.1:5432/other" || again.Core.FernetKey != c.Core.FernetKey {
		t.Errorf("reloaded home: dags_folder %q, sql_conn %q, same key %v", again.Core.DagsFolder, again.Database.SQLConn, again.Core.FernetKey == c.Core.FernetKey)
	}
	if _, wrote, err := Init(again, nil); err != nil || wrote {
		t.Errorf("second Init = %v, wrote %v; want nothing to do", err, wrote)
	}
}

func TestInitAddsAKeyAndKeepsTheFile(t *testing.T) {
	home := t.TempDir()
	orig := "# my settings\n[core]\n# keep this comment\nparallelism = 7\n\n[scheduler]\nparsing_processes = 3\n"
	if err := os.WriteFile(filepath.Join(home, "gust.cfg"), []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	c, wrote, err := Init(load(t, home), nil)
	if err != nil || !wrote || c.Core.FernetKey == "" {
		t.Fatalf("Init = %v, wrote %v, key %q", err, wrote, c.Core.FernetKey)
	}
	b, _ := os.ReadFile(c.File)
	want := "# my settings\n[core]\n# keep this comment\nparallelism = 7\nfernet_key = " + c.Core.FernetKey + "\n\n[scheduler]\nparsing_processes = 3\n" +
		"\n[api_auth]\njwt_secret = " + c.APIAuth.JWTSecret + "\n"
	if string(b) != want {
		t.Errorf("gust.cfg =\n%s\nwant\n%s", b, want)
	}
	if c.Core.Parallelism != 7 || c.Scheduler.ParsingProcesses != 3 {
		t.Error("the existing settings were lost")
	}
}

func TestInitRespectsTheEnvironmentAndTheOptOut(t *testing.T) {
	key, _ := secrets.GenerateKey()
	home := t.TempDir()
	env := []string{"GUST__CORE__FERNET_KEY=" + key}
	c, _, err := Init(load(t, home, env...), env)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(c.File)
	if strings.Contains(string(b), "fernet_key") || c.Core.FernetKey != key {
		t.Errorf("a key from the environment was written to the file or lost:\n%s", b)
	}

	home = t.TempDir()
	env = []string{"GUST__CORE__STORE_SECRETS_UNENCRYPTED=True"}
	c, _, err = Init(load(t, home, env...), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Core.FernetKey != "" {
		t.Error("a key was generated although the operator asked for clear storage")
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "stored in clear") {
		t.Errorf("warnings = %q; want one saying secrets are stored in clear", c.Warnings)
	}
}

func TestInitConcurrentProcessesAgreeOnOneKey(t *testing.T) {
	home := t.TempDir()
	var wg sync.WaitGroup
	keys := make([]string, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Load(home, nil)
			if err == nil {
				c, _, err = Init(c, nil)
			}
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = c.Core.FernetKey
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k == "" || k != keys[0] {
			t.Fatalf("keys = %q; want one key shared by every process", keys)
		}
	}
}

func TestInitUnwritableHomeNamesTheOption(t *testing.T) {
	// Tests run as root here, so permissions cannot make the home
	// unwritable: a directory where the lock file goes does.
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, ".gust.cfg.lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := Init(load(t, home), nil)
	if err == nil || !strings.Contains(err.Error(), "[core] fernet_key is not set") || !strings.Contains(err.Error(), "GUST__CORE__FERNET_KEY") {
		t.Fatalf("Init in an unwritable home = %v; want an error naming [core] fernet_key and GUST__CORE__FERNET_KEY", err)
	}
	// With the key in the environment, the same home works (with a warning).
	key, _ := secrets.GenerateKey()
	env := []string{"GUST__CORE__FERNET_KEY=" + key}
	c, _, err := Init(load(t, home, env...), env)
	if err != nil || c.Core.FernetKey != key {
		t.Fatalf("Init with the key in the environment = %v", err)
	}
	if !strings.Contains(strings.Join(c.Warnings, "\n"), "cannot write") {
		t.Errorf("warnings = %q; want one about the unwritable file", c.Warnings)
	}
}

func TestSetKey(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"", "[core]\nk = v\n"},
		{"[core]\nk = old\n", "[core]\nk = v\n"},
		{"[other]\na = 1\n", "[other]\na = 1\n\n[core]\nk = v\n"},
		{"[Core]\na = 1\n[x]\nb = 2\n", "[Core]\na = 1\nk = v\n[x]\nb = 2\n"},
		{"[core]\nK=old\n", "[core]\nk = v\n"},
	} {
		if got := setKey(tc.doc, "core", "k", "v"); got != tc.want {
			t.Errorf("setKey(%q) = %q, want %q", tc.doc, got, tc.want)
		}
	}
}

func TestDisplayHidesSecrets(t *testing.T) {
	c := load(t, t.TempDir(), "GUST__CORE__FERNET_KEY=abc", "GUST__CELERY__BROKER_URL=amqp://u:pw@127.0.0.1:5672/v")
	for key, want := range map[string]string{"core.fernet_key": "< hidden >", "celery.broker_url": "amqp://u:***@127.0.0.1:5672/v"} {
		sec, k, _ := strings.Cut(key, ".")
		if v, _ := c.Get(sec, k); v.Display() != want {
			t.Errorf("%s shows as %q, want %q", key, v.Display(), want)
		}
	}
}
