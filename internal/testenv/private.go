package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Private service instances, for tests that restart the database or the
// broker: they must not disturb the machine's shared services or other
// tests. Each lives in a temporary folder on its own ports and is removed
// at cleanup.

// asUser runs a command as the given system user when we are root (the
// PostgreSQL and RabbitMQ tools refuse or misbehave as root), else as is.
func asUser(name string, env []string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", name, "--", "env"}, append(env, args...)...)...)
	} else {
		cmd = exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), env...)
	}
	return cmd
}

func chownTo(t testing.TB, dir, name string) {
	if os.Geteuid() != 0 {
		return
	}
	if out, err := exec.Command("chown", "-R", name, dir).CombinedOutput(); err != nil {
		t.Fatalf("chown %s %s: %v: %s", name, dir, err, out)
	}
}

func tempDir(t testing.TB, prefix string) string {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// PrivatePostgres is a PostgreSQL server of our own (initdb'd), on its own
// port.
type PrivatePostgres struct {
	t    testing.TB
	Dir  string
	Port int
	bin  string
}

func pgBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(matches) == 0 {
		return "", fmt.Errorf("pg_ctl not found: install PostgreSQL (apt-get install postgresql)")
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// StartPrivatePostgres initialises and starts a server; it is stopped at
// cleanup.
func StartPrivatePostgres(t testing.TB) *PrivatePostgres {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := user.Lookup("postgres"); err != nil && os.Geteuid() == 0 {
		t.Fatalf("no postgres system user to run a private server as: %v", err)
	}
	p := &PrivatePostgres{t: t, Dir: tempDir(t, "gust-pg-"), Port: FreePort(t), bin: bin}
	chownTo(t, p.Dir, "postgres")
	out, err := asUser("postgres", nil, filepath.Join(bin, "initdb"), "-D", filepath.Join(p.Dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v: %s", err, out)
	}
	p.Start()
	t.Cleanup(func() { p.Stop("immediate") })
	return p
}

// URL returns the server's URL for a database name.
func (p *PrivatePostgres) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, db)
}

// Start starts the server and waits until it accepts connections.
func (p *PrivatePostgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", p.Port, p.Dir)
	out, err := asUser("postgres", nil, filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.Dir, "data"), "-o", opts,
		"-l", filepath.Join(p.Dir, "log"), "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		p.t.Fatalf("start private PostgreSQL: %v: %s", err, out)
	}
}

// Stop stops the server; mode is fast or immediate (a crash).
func (p *PrivatePostgres) Stop(mode string) {
	_ = asUser("postgres", nil, filepath.Join(p.bin, "pg_ctl"), "-D", filepath.Join(p.Dir, "data"), "-m", mode, "-w", "stop").Run()
}

// PrivateRabbit is a RabbitMQ node of our own, on its own ports.
type PrivateRabbit struct {
	t    testing.TB
	Dir  string
	Node string
	Port int
	env  []string
}

func rabbitBin(name string) string {
	if p := "/usr/lib/rabbitmq/bin/" + name; fileExists(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// StartPrivateRabbit starts a node; it is stopped at cleanup.
func StartPrivateRabbit(t testing.TB) *PrivateRabbit {
	t.Helper()
	dir := tempDir(t, "gust-rmq-")
	r := &PrivateRabbit{t: t, Dir: dir, Node: Name("gust") + "@localhost", Port: FreePort(t)}
	files := map[string]string{
		"enabled_plugins": "[].\n",
		"rabbitmq.conf":   fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\nloopback_users = none\n", r.Port),
		"env.conf":        "NODENAME=" + r.Node + "\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	chownTo(t, dir, "rabbitmq")
	home := "/var/lib/rabbitmq"
	if os.Geteuid() != 0 {
		home = os.Getenv("HOME")
	}
	r.env = []string{
		"HOME=" + home,
		"RABBITMQ_CONF_ENV_FILE=" + filepath.Join(dir, "env.conf"),
		"RABBITMQ_NODENAME=" + r.Node,
		"RABBITMQ_CONFIG_FILE=" + filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_MNESIA_BASE=" + filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE=" + filepath.Join(dir, "log"),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", FreePort(t)),
		"ERL_EPMD_ADDRESS=127.0.0.1",
	}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// URL is the node's AMQP URL (default vhost).
func (r *PrivateRabbit) URL() string { return fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.Port) }

// Start starts the node and waits until it accepts AMQP connections.
func (r *PrivateRabbit) Start() {
	r.t.Helper()
	if out, err := asUser("rabbitmq", r.env, rabbitBin("rabbitmq-server"), "-detached").CombinedOutput(); err != nil {
		r.t.Fatalf("start private RabbitMQ: %v: %s", err, out)
	}
	deadline := time.Now().Add(90 * time.Second)
	for !reachable(fmt.Sprintf("127.0.0.1:%d", r.Port)) {
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(r.Dir, "log", strings.Split(r.Node, "@")[0]+".log"))
			r.t.Fatalf("private RabbitMQ did not come up on port %d:\n%s", r.Port, b)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Stop stops the node and waits for it to be gone.
func (r *PrivateRabbit) Stop() {
	_ = asUser("rabbitmq", r.env, rabbitBin("rabbitmqctl"), "-n", r.Node, "stop").Run()
	deadline := time.Now().Add(30 * time.Second)
	for reachable(fmt.Sprintf("127.0.0.1:%d", r.Port)) && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
}
