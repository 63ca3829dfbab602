package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestScratchPool checks that a try always starts with an empty working
// directory and XCom file, whatever the try before left in them, and that
// the pool's directories go with it.
func TestScratchPool(t *testing.T) {
	p := &scratchPool{}
	ctx := withScratch(context.Background(), p)
	a, err := takeScratch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := takeScratch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a.dir == b.dir || a.xcom == b.xcom {
		t.Fatalf("two tries share a scratch: %s %s", a.dir, b.dir)
	}
	// The first try leaves files, a subdirectory and XComs behind; the
	// second changes its directory's mode.
	if err := os.MkdirAll(filepath.Join(a.dir, "sub", "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.dir, "left"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.xcom, []byte("k=v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	a.Release()
	b.Release()
	for range 2 {
		s, err := takeScratch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !emptyDir(s.dir) {
			t.Errorf("%s is not empty (or not private) for the next try", s.dir)
		}
		if fi, err := os.Stat(s.xcom); err != nil || fi.Size() != 0 {
			t.Errorf("XCom file %s for the next try: %v, %v", s.xcom, fi, err)
		}
		defer s.Release()
	}
	root := p.root
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("%s is still there after Close: %v", root, err)
	}
	// Without a pool (gust dags test) a scratch is made and removed.
	s, err := takeScratch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s.Release()
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("a pool-less scratch %s is still there: %v", s.dir, err)
	}
}
