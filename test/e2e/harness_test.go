// Package e2e tests gust end to end: real `gust` processes (several
// schedulers and workers) against the real PostgreSQL, RabbitMQ and Redis,
// each test in its own database, vhost and Redis key prefix.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/gust-sched/gust/internal/testenv"
)

var gustBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gust-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gustBin, err = testenv.BuildGust(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func newCluster(t *testing.T, extraEnv ...string) *testenv.Cluster {
	return testenv.NewCluster(t, gustBin, extraEnv...)
}
