package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestIntersperseMovesFlagsBeforeArguments(t *testing.T) {
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	app := a.cli()
	got := intersperse(app, []string{"gust", "dags", "trigger", "d1", "--run-id", "r1", "--conf={}", "-o", "json"})
	want := "gust dags trigger --run-id r1 --conf={} -o json d1"
	if strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	got = intersperse(app, []string{"gust", "tasks", "states-for-dag-run", "d", "r", "-o", "json"})
	if strings.Join(got, " ") != "gust tasks states-for-dag-run -o json d r" {
		t.Errorf("got %q", got)
	}
}

func TestUnknownFlagIsAClearError(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, environ: []string{"GUST_HOME=" + t.TempDir()}}
	app := a.cli()
	err := app.Run(intersperse(app, []string{"gust", "dags", "list", "--bogus"}))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
}
