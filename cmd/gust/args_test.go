package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestIntersperseMovesFlagsBeforeArguments(t *testing.T) {
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	app := a.cli()
	for _, tc := range []struct{ args, want string }{
		{"gust dags trigger d1 --run-id r1 --conf={} -o json", "gust dags trigger --run-id r1 --conf={} -o json d1"},
		{"gust tasks states-for-dag-run d r -o json", "gust tasks states-for-dag-run -o json d r"},
		// Negative numbers are arguments; "--" keeps them from the flag parser.
		{"gust pools set p -1 unlimited -o json", "gust pools set -o json p -1 unlimited"},
		{"gust pools set -1 p x", "gust pools set -- -1 p x"},
		{"gust dags list-runs -d x --limit -1", "gust dags list-runs -d x --limit -1"},
		{"gust variables set k -- --not-a-flag", "gust variables set -- k --not-a-flag"},
		{"gust dags list", "gust dags list"},
	} {
		got, err := intersperse(app, strings.Fields(tc.args))
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.args, strings.Join(got, " "), err, tc.want)
		}
	}
}

// TestUsageErrorsAreOneLine: a mistyped command line gets one line on
// stderr naming the flag, never the command's help on stdout.
func TestUsageErrorsAreOneLine(t *testing.T) {
	in := setup(t, false)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"dags", "list", "--foo"}, "gust: unknown flag --foo (see `gust dags list --help`)"},
		{[]string{"dags", "list", "--includ-inactive"}, "gust: unknown flag --includ-inactive; did you mean --include-inactive? (see `gust dags list --help`)"},
		{[]string{"dags", "list", "-x"}, "gust: unknown flag -x (see `gust dags list --help`)"},
		{[]string{"dags", "--foo"}, "gust: unknown flag --foo (see `gust dags --help`)"},
		{[]string{"--foo"}, "gust: unknown flag --foo (see `gust --help`)"},
		{[]string{"tasks", "clear", "d", "--only-faild"}, "gust: unknown flag --only-faild; did you mean --only-failed? (see `gust tasks clear --help`)"},
		{[]string{"dags", "trigger", "X", "--conf"}, "gust: flag --conf needs a value (see `gust dags trigger --help`)"},
		{[]string{"dags", "trigger", "X", "-c"}, "gust: flag -c needs a value (see `gust dags trigger --help`)"},
		{[]string{"dags", "trigger", "--conf"}, "gust: flag --conf needs a value (see `gust dags trigger --help`)"},
		{[]string{"dags", "trigger", "X", "--conf", "--run-id", "r1"}, "gust: flag --conf needs a value (see `gust dags trigger --help`)"},
		{[]string{"dags", "list", "-o"}, "gust: flag -o needs a value (see `gust dags list --help`)"},
		{[]string{"dags", "list-runs", "-d", "x", "--limit", "many"}, "gust: flag --limit must be an integer, got \"many\" (see `gust dags list-runs --help`)"},
		{[]string{"dags", "list-runs"}, "gust: flag --dag-id is required (see `gust dags list-runs --help`)"},
		{[]string{"dags", "backfill", "X", "-s", "2024-01-01"}, "gust: flag --end-date is required (see `gust dags backfill --help`)"},
		{[]string{"dags", "pause", "X", "--yes=maybe"}, "gust: unknown flag --yes (see `gust dags pause --help`)"},
		{[]string{"dags", "delete", "X", "--yes=maybe"}, "gust: flag --yes takes no value, or =true or =false, got \"maybe\" (see `gust dags delete --help`)"},
	} {
		if got := in.fails(tc.args...); got != tc.want {
			t.Errorf("gust %s:\n got %s\nwant %s", strings.Join(tc.args, " "), got, tc.want)
		}
	}
	// Help stays help.
	if out := in.mustRun("dags", "list-runs", "--help"); !strings.Contains(out, "--dag-id value, -d value") {
		t.Errorf("help of list-runs:\n%s", out)
	}
}

func TestNegativeNumberIsAnArgument(t *testing.T) {
	in := setup(t, true)
	out := in.mustRun("pools", "set", "unlimited", "-1", "no limit", "-o", "plain")
	if !strings.HasPrefix(out, "unlimited  -1  no limit") {
		t.Errorf("pools set with -1 slots:\n%s", out)
	}
}

func TestParseAutoscale(t *testing.T) {
	for _, tc := range []struct {
		in       string
		max, min int
		ok       bool
	}{
		{"10,3", 10, 3, true}, {"4", 4, 1, true}, {" 8 , 2 ", 8, 2, true}, {"5,0", 5, 1, true},
		{"2,5", 0, 0, false}, {"x,1", 0, 0, false}, {"4,y", 0, 0, false},
	} {
		max, min, err := parseAutoscale(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (max != tc.max || min != tc.min)) {
			t.Errorf("parseAutoscale(%q) = %d, %d, %v", tc.in, max, min, err)
		}
	}
}
