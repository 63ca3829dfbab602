// Package testenv gives tests isolated slices of the real services on
// loopback: a fresh PostgreSQL database, a fresh RabbitMQ vhost, and a Redis
// DB number with a unique key prefix, each removed when the test ends. It
// starts (or installs) a service that is down through
// scripts/ensure-services.sh rather than skipping the test.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Loopback addresses of the shared services.
const (
	PostgresAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	RabbitHost       = "127.0.0.1:5672"
	RedisAddr        = "127.0.0.1:6379"
)

var ensureOnce sync.Once
var ensureErr error

// RepoRoot returns the repository's root folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// EnsureServices makes sure PostgreSQL, RabbitMQ and Redis answer on
// loopback, starting them when they do not.
func EnsureServices(t testing.TB) {
	t.Helper()
	ensureOnce.Do(func() {
		if reachable("127.0.0.1:5432") && reachable(RabbitHost) && reachable(RedisAddr) {
			return
		}
		cmd := exec.Command("bash", filepath.Join(RepoRoot(), "scripts", "ensure-services.sh"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			ensureErr = fmt.Errorf("ensure-services.sh: %v\n%s", err, out)
		}
	})
	if ensureErr != nil {
		t.Fatal(ensureErr)
	}
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Name returns a unique lower-case name with the given prefix.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Database creates an empty database and returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	EnsureServices(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := Name("gusttest")
	admin, err := pgx.Connect(ctx, PostgresAdminURL)
	if err != nil {
		t.Fatalf("connect to postgres: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, PostgresAdminURL)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", name)
}

// Vhost creates a RabbitMQ vhost for guest and returns its AMQP URL.
func Vhost(t testing.TB) string {
	t.Helper()
	EnsureServices(t)
	name := Name("gusttest")
	rabbitmqctl(t, "add_vhost", name)
	rabbitmqctl(t, "set_permissions", "-p", name, "guest", ".*", ".*", ".*")
	t.Cleanup(func() {
		out, err := exec.Command("rabbitmqctl", "-q", "delete_vhost", name).CombinedOutput()
		if err != nil {
			t.Logf("delete vhost %s: %v: %s", name, err, out)
		}
	})
	return "amqp://guest:guest@" + RabbitHost + "/" + name
}

func rabbitmqctl(t testing.TB, args ...string) {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rabbitmqctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Redis returns a Redis URL on a DB number and a unique key prefix; the
// caller's keys are deleted at cleanup by prefix.
func Redis(t testing.TB) (url, prefix string) {
	t.Helper()
	EnsureServices(t)
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	db := 1 + int(b[0])%15
	prefix = Name("gusttest") + ":"
	url = fmt.Sprintf("redis://%s/%d", RedisAddr, db)
	t.Cleanup(func() {
		// Keys expire on their own; delete them to leave nothing behind.
		out, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-n", fmt.Sprint(db), "--scan", "--pattern", prefix+"*").Output()
		if err != nil {
			return
		}
		keys := strings.Fields(string(out))
		if len(keys) > 0 {
			_ = exec.Command("redis-cli", append([]string{"-h", "127.0.0.1", "-n", fmt.Sprint(db), "del"}, keys...)...).Run()
		}
	})
	return url, prefix
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// BuildGust builds the gust binary once per test binary into dir and
// returns its path.
func BuildGust(dir string) (string, error) {
	bin := filepath.Join(dir, "gust")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gust")
	cmd.Dir = RepoRoot()
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build gust: %v\n%s", err, out)
	}
	return bin, nil
}
