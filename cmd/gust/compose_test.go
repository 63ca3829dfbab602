package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

var (
	userInfo    = regexp.MustCompile(`^[a-z]+://[^:/@]*:?([^@]*)@`)
	requiredVar = regexp.MustCompile(`^\$\{[A-Z_]+:\?[^}]*\}$`)
)

// composeService is the part of a docker-compose service this test reads.
type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Init        bool              `yaml:"init"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// TestComposeFile reads docker-compose.yml as docker compose would (merge
// keys resolved) and checks what no Docker engine here can: every gust
// service reaps orphans and uses the one image built once; no password or
// key has a default; workers mount no DAG folder; published ports stay on
// loopback; and every gust command the file runs, health checks included,
// parses with this binary's CLI.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	a := &app{environ: []string{"GUST_HOME=" + t.TempDir()}}
	root := a.cli()
	builds, gustServices := 0, 0
	for name, s := range f.Services {
		if !strings.HasPrefix(s.Image, "gust:") {
			continue
		}
		gustServices++
		if s.Build != nil {
			builds++
		}
		if !s.Init {
			t.Errorf("service %s: init: true is missing (bash tasks' orphans must be reaped)", name)
		}
		for _, k := range []string{"GUST__CORE__FERNET_KEY", "GUST__API_AUTH__JWT_SECRET"} {
			if !requiredVar.MatchString(s.Environment[k]) {
				t.Errorf("service %s: %s must come from .env with no default, got %q", name, k, s.Environment[k])
			}
		}
		for _, k := range []string{"GUST__DATABASE__SQL_CONN", "GUST__CELERY__BROKER_URL"} {
			// The password, if any, is a required variable: ${X:?...}.
			if m := userInfo.FindStringSubmatch(s.Environment[k]); m != nil && m[1] != "" && !requiredVar.MatchString(m[1]) {
				t.Errorf("service %s: %s has a literal or defaulted password: %q", name, k, s.Environment[k])
			}
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s runs no command", name)
		} else {
			checkCommand(t, root, name, s.Command)
			if s.Command[0] == "worker" || s.Command[0] == "flower" || s.Command[0] == "api-server" {
				if s.Healthcheck.Test == nil {
					t.Errorf("service %s has no health check", name)
				}
			}
			if s.Command[0] == "worker" {
				for _, v := range s.Volumes {
					if strings.Contains(v, "dags") {
						t.Errorf("service %s mounts the DAG folder (%s); workers need none", name, v)
					}
				}
			}
		}
		if hc := s.Healthcheck.Test; len(hc) > 2 && hc[0] == "CMD" && hc[1] == "gust" {
			checkCommand(t, root, name+" healthcheck", hc[2:])
		}
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %s beyond the host's loopback", name, p)
			}
		}
	}
	if gustServices < 4 || builds != 1 {
		t.Errorf("%d gust services, %d of them build the image; want the image built once and reused", gustServices, builds)
	}
}

// checkCommand finds args' command in the CLI and checks each --flag.
func checkCommand(t *testing.T, root *cli.App, where string, args []string) {
	t.Helper()
	cmds := root.Commands
	var cmd *cli.Command
	i := 0
	for ; i < len(args) && !strings.HasPrefix(args[i], "-"); i++ {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
	}
	if cmd == nil {
		t.Errorf("%s: %q is not a gust command", where, strings.Join(args, " "))
		return
	}
	for _, arg := range args[i:] {
		if !strings.HasPrefix(arg, "--") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		found := false
		for _, fl := range cmd.Flags {
			for _, n := range fl.Names() {
				found = found || n == name
			}
		}
		if !found {
			t.Errorf("%s: gust %s has no flag --%s", where, cmd.FullName(), name)
		}
	}
}
