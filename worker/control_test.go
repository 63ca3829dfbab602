package worker

import (
	"context"
	"testing"
	"time"
)

func TestLimiterResize(t *testing.T) {
	t.Parallel()
	l := newLimiter(1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !l.acquire(ctx) {
		t.Fatal("first acquire failed")
	}
	got := make(chan bool)
	go func() { got <- l.acquire(ctx) }()
	select {
	case <-got:
		t.Fatal("acquired beyond the size")
	case <-time.After(50 * time.Millisecond):
	}
	// Growing lets the waiter in at once.
	if n, err := l.resize(1); err != nil || n != 2 {
		t.Fatalf("grow: %d, %v", n, err)
	}
	if !<-got {
		t.Fatal("waiter not admitted after grow")
	}
	// Shrinking below what runs keeps the running ones and holds new ones
	// back until fewer than the new size run.
	if n, err := l.resize(-1); err != nil || n != 1 {
		t.Fatalf("shrink: %d, %v", n, err)
	}
	go func() { got <- l.acquire(ctx) }()
	l.release() // 1 still running: at the new size
	select {
	case <-got:
		t.Fatal("acquired while at the new size")
	case <-time.After(50 * time.Millisecond):
	}
	l.release()
	if !<-got {
		t.Fatal("waiter not admitted after the pool drained below its size")
	}
	if _, err := l.resize(-1); err == nil {
		t.Fatal("shrinking to 0 must fail")
	}
	short, stop := context.WithCancel(ctx)
	stop()
	if l.acquire(short) {
		t.Fatal("acquire with a done context while full must fail")
	}
}
