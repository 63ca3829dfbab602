package schedule

import (
	"fmt"
	"testing"
	"time"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestNextMatchesAirflow(t *testing.T) {
	cases := []struct {
		name      string
		schedule  string
		tz        string
		last      *Interval
		start     string
		end       string
		catchup   bool
		now       string
		wantStart string
		wantEnd   string
		wantAfter string
		wantNone  bool
	}{
		{name: "daily first run with catchup is the start date's interval",
			schedule: "@daily", start: "2024-01-01T00:00:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-01T00:00:00Z", wantEnd: "2024-01-02T00:00:00Z", wantAfter: "2024-01-02T00:00:00Z"},
		{name: "start date off the schedule aligns forward",
			schedule: "@daily", start: "2024-01-01T10:00:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-02T00:00:00Z", wantEnd: "2024-01-03T00:00:00Z", wantAfter: "2024-01-03T00:00:00Z"},
		{name: "catchup continues from the last interval",
			schedule: "@daily", start: "2024-01-01T00:00:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			last:      &Interval{ts("2024-01-02T00:00:00Z"), ts("2024-01-03T00:00:00Z")},
			wantStart: "2024-01-03T00:00:00Z", wantEnd: "2024-01-04T00:00:00Z", wantAfter: "2024-01-04T00:00:00Z"},
		{name: "no catchup gives the latest complete interval",
			schedule: "@daily", start: "2024-01-01T00:00:00Z", catchup: false, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-04T00:00:00Z", wantEnd: "2024-01-05T00:00:00Z", wantAfter: "2024-01-05T00:00:00Z"},
		{name: "no catchup with now on a boundary",
			schedule: "@daily", start: "2024-01-01T00:00:00Z", catchup: false, now: "2024-01-05T00:00:00Z",
			wantStart: "2024-01-04T00:00:00Z", wantEnd: "2024-01-05T00:00:00Z", wantAfter: "2024-01-05T00:00:00Z"},
		{name: "no catchup after an old last run skips ahead",
			schedule: "@hourly", start: "2024-01-01T00:00:00Z", catchup: false, now: "2024-01-05T12:30:00Z",
			last:      &Interval{ts("2024-01-02T00:00:00Z"), ts("2024-01-02T01:00:00Z")},
			wantStart: "2024-01-05T11:00:00Z", wantEnd: "2024-01-05T12:00:00Z", wantAfter: "2024-01-05T12:00:00Z"},
		{name: "future start date waits for its first interval to end",
			schedule: "0 6 * * *", start: "2030-01-01T00:00:00Z", catchup: false, now: "2024-01-05T12:00:00Z",
			wantStart: "2030-01-01T06:00:00Z", wantEnd: "2030-01-02T06:00:00Z", wantAfter: "2030-01-02T06:00:00Z"},
		{name: "end date stops the schedule",
			schedule: "@daily", start: "2024-01-01T00:00:00Z", end: "2024-01-02T00:00:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			last:     &Interval{ts("2024-01-02T00:00:00Z"), ts("2024-01-03T00:00:00Z")},
			wantNone: true},
		{name: "end date equal to the interval start still runs",
			schedule: "@daily", start: "2024-01-01T00:00:00Z", end: "2024-01-02T00:00:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			last:      &Interval{ts("2024-01-01T00:00:00Z"), ts("2024-01-02T00:00:00Z")},
			wantStart: "2024-01-02T00:00:00Z", wantEnd: "2024-01-03T00:00:00Z", wantAfter: "2024-01-03T00:00:00Z"},
		{name: "monthly",
			schedule: "@monthly", start: "2024-01-15T00:00:00Z", catchup: true, now: "2024-06-05T12:00:00Z",
			wantStart: "2024-02-01T00:00:00Z", wantEnd: "2024-03-01T00:00:00Z", wantAfter: "2024-03-01T00:00:00Z"},
		{name: "once runs at the start date",
			schedule: "@once", start: "2024-01-01T00:00:00Z", catchup: false, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-01T00:00:00Z", wantEnd: "2024-01-01T00:00:00Z", wantAfter: "2024-01-01T00:00:00Z"},
		{name: "once only once",
			schedule: "@once", start: "2024-01-01T00:00:00Z", now: "2024-01-05T12:00:00Z",
			last:     &Interval{ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z")},
			wantNone: true},
		{name: "no schedule", schedule: "", start: "2024-01-01T00:00:00Z", now: "2024-01-05T12:00:00Z", wantNone: true},
		{name: "delta with catchup starts at the start date",
			schedule: "@every 30m0s", start: "2024-01-01T00:10:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-01T00:10:00Z", wantEnd: "2024-01-01T00:40:00Z", wantAfter: "2024-01-01T00:40:00Z"},
		{name: "delta without catchup ends now",
			schedule: "@every 30m0s", start: "2024-01-01T00:10:00Z", catchup: false, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-05T11:30:00Z", wantEnd: "2024-01-05T12:00:00Z", wantAfter: "2024-01-05T12:00:00Z"},
		{name: "cron in a timezone follows local midnight",
			schedule: "@daily", tz: "Europe/Amsterdam", start: "2024-01-01T00:00:00Z", catchup: true, now: "2024-01-05T12:00:00Z",
			wantStart: "2024-01-01T23:00:00Z", wantEnd: "2024-01-02T23:00:00Z", wantAfter: "2024-01-02T23:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tt, err := New(c.schedule, c.tz)
			if err != nil {
				t.Fatal(err)
			}
			var end *time.Time
			if c.end != "" {
				e := ts(c.end)
				end = &e
			}
			iv, after, ok := tt.Next(c.last, ts(c.start), end, c.catchup, ts(c.now))
			if c.wantNone {
				if ok {
					t.Fatalf("got %v..%v, want no run", iv.Start, iv.End)
				}
				return
			}
			if !ok {
				t.Fatal("got no run")
			}
			if !iv.Start.Equal(ts(c.wantStart)) || !iv.End.Equal(ts(c.wantEnd)) || !after.Equal(ts(c.wantAfter)) {
				t.Errorf("got [%v, %v) after %v; want [%s, %s) after %s", iv.Start, iv.End, after, c.wantStart, c.wantEnd, c.wantAfter)
			}
		})
	}
}

func TestInferManual(t *testing.T) {
	tt, _ := New("@daily", "")
	iv := tt.InferManual(ts("2024-01-25T01:00:00Z"))
	if !iv.Start.Equal(ts("2024-01-24T00:00:00Z")) || !iv.End.Equal(ts("2024-01-25T00:00:00Z")) {
		t.Errorf("daily manual at 01:00 = %v..%v", iv.Start, iv.End)
	}
	iv = tt.InferManual(ts("2024-01-25T00:00:00Z"))
	if !iv.Start.Equal(ts("2024-01-24T00:00:00Z")) || !iv.End.Equal(ts("2024-01-25T00:00:00Z")) {
		t.Errorf("daily manual at midnight = %v..%v", iv.Start, iv.End)
	}
	none, _ := New("", "")
	iv = none.InferManual(ts("2024-01-25T01:00:00Z"))
	if !iv.Start.Equal(iv.End) {
		t.Errorf("unscheduled manual interval = %v..%v, want empty", iv.Start, iv.End)
	}
}

func TestBadSchedules(t *testing.T) {
	for _, s := range []string{"0 0 * *", "@fortnightly", "61 * * * *", "0 0 30 2 *", "@every -5m", "@every x"} {
		if _, err := New(s, ""); err == nil {
			t.Errorf("New(%q) accepted", s)
		}
	}
	if _, err := New("@daily", "Mars/Olympus"); err == nil {
		t.Error("unknown timezone accepted")
	}
}

func TestBetween(t *testing.T) {
	tt, _ := New("@daily", "")
	ivs, err := tt.Between(ts("2024-01-01T06:00:00Z"), ts("2024-01-04T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, iv := range ivs {
		got = append(got, iv.Start.Format("01-02")+".."+iv.End.Format("01-02"))
	}
	if want := "01-02..01-03 01-03..01-04 01-04..01-05"; fmt.Sprint(got) != "["+want+"]" {
		t.Errorf("got %v, want [%s]", got, want)
	}
	if _, err := tt.Between(ts("2000-01-01T00:00:00Z"), ts("2100-01-01T00:00:00Z")); err == nil {
		t.Error("a century of daily runs was accepted")
	}
	none, _ := New("", "")
	if _, err := none.Between(ts("2024-01-01T00:00:00Z"), ts("2024-01-04T00:00:00Z")); err == nil {
		t.Error("backfill of an unscheduled DAG was accepted")
	}
}
