package retry

import (
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	t.Parallel()
	ld := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	fixed := Policy{Delay: 300 * time.Second}
	if got := Delay(fixed, "d", "t", ld, 3); got != 300*time.Second {
		t.Fatalf("fixed delay = %v, want 5m", got)
	}
	exp := Policy{Delay: 10 * time.Second, ExponentialBackoff: true}
	for try := 1; try <= 6; try++ {
		lo := 10 * time.Second * time.Duration(1<<(try-1))
		got := Delay(exp, "d", "t", ld, try)
		if got < lo || got >= 2*lo {
			t.Fatalf("try %d: delay %v not in [%v, %v)", try, got, lo, 2*lo)
		}
		if again := Delay(exp, "d", "t", ld, try); again != got {
			t.Fatalf("try %d: jitter not deterministic: %v then %v", try, got, again)
		}
	}
	capped := Policy{Delay: 10 * time.Second, ExponentialBackoff: true, MaxDelay: 15 * time.Second}
	if got := Delay(capped, "d", "t", ld, 5); got != 15*time.Second {
		t.Fatalf("capped delay = %v, want 15s", got)
	}
	zero := Policy{ExponentialBackoff: true}
	if got := Delay(zero, "d", "t", ld, 1); got != time.Second {
		t.Fatalf("zero delay with backoff = %v, want Airflow's floor of 1s", got)
	}
	if got := Delay(exp, "d", "t", ld, 200); got <= 0 {
		t.Fatalf("huge try number must not overflow: %v", got)
	}
}

func TestPythonDatetime(t *testing.T) {
	t.Parallel()
	got := pythonDatetime(time.Date(2024, 3, 5, 6, 7, 8, 0, time.FixedZone("x", 3600)))
	if want := "2024-03-05 05:07:08+00:00"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = pythonDatetime(time.Date(2024, 3, 5, 6, 7, 8, 1500, time.UTC))
	if want := "2024-03-05 06:07:08.000001+00:00"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
