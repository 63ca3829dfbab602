package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsFileAndEnvLayering(t *testing.T) {
	home := t.TempDir()
	cfg := "[core]\nparallelism = 7\ndags_are_paused_at_creation = True\n[scheduler]\nmin_file_process_interval = 2.5\n[nope]\nx = 1\n"
	if err := os.WriteFile(filepath.Join(home, "gust.cfg"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(home, []string{
		"GUST__CORE__PARALLELISM=9",
		"GUST__CELERY__BROKER_URL=amqp://u:p@127.0.0.1:5672/vh",
		"GUST__BOGUS__KEY=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Core.Parallelism != 9 {
		t.Errorf("parallelism = %d, want 9 (env beats file)", c.Core.Parallelism)
	}
	if !c.Core.DagsArePausedAtCreation {
		t.Error("dags_are_paused_at_creation from file not applied")
	}
	if c.Scheduler.MinFileProcessInterval != 2500*time.Millisecond {
		t.Errorf("min_file_process_interval = %v", c.Scheduler.MinFileProcessInterval)
	}
	if c.Core.DagsFolder != filepath.Join(home, "dags") {
		t.Errorf("dags_folder default = %q", c.Core.DagsFolder)
	}
	v, ok := c.Get("CELERY", "broker_url")
	if !ok || v.Source != SourceEnv || !strings.HasSuffix(v.Value, "/vh") {
		t.Errorf("broker_url value = %+v", v)
	}
	v, _ = c.Get("core", "dags_are_paused_at_creation")
	if v.Source != SourceFile {
		t.Errorf("source = %s, want file", v.Source)
	}
	if len(c.Warnings) != 2 {
		t.Errorf("warnings = %q, want one for [nope] x and one for GUST__BOGUS__KEY", c.Warnings)
	}
}

func TestBadValuesAreClearErrors(t *testing.T) {
	_, err := Load(t.TempDir(), []string{"GUST__CORE__PARALLELISM=lots", "GUST__CELERY__BROKER_URL=http://x"})
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"[core] parallelism", "not an integer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	_, err = Load(t.TempDir(), []string{"GUST__CELERY__BROKER_URL=http://x"})
	if err == nil || !strings.Contains(err.Error(), "broker_url") {
		t.Errorf("bad broker url: err = %v", err)
	}
}
