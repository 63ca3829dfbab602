package webui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// TestAssetsKeepToTheCSP: the pages work under default-src 'self' only if
// no HTML carries inline script, style or event handlers, and data reaches
// the page as text: no script assigns innerHTML or outerHTML, or calls
// insertAdjacentHTML or document.write.
func TestAssetsKeepToTheCSP(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`)
	handler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	htmlSinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write`)
	err := fs.WalkDir(files, "static", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		switch {
		case strings.HasSuffix(path, ".html"):
			if inlineScript.MatchString(src) || handler.MatchString(src) || strings.Contains(src, "<style") || strings.Contains(src, " style=") {
				t.Errorf("%s has inline script, style or an event handler attribute", path)
			}
			if strings.Contains(src, "http://") || strings.Contains(src, "https://") {
				t.Errorf("%s loads something from elsewhere", path)
			}
		case strings.HasSuffix(path, ".js"):
			if m := htmlSinks.FindString(src); m != "" {
				t.Errorf("%s uses %s: build elements with el() and textContent", path, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHandler(t *testing.T) {
	var authed atomic.Bool
	srv := httptest.NewServer(Handler(func(*http.Request) bool { return authed.Load() }))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/dags/a/runs/r%2F1/tasks/t"); r.StatusCode != http.StatusFound ||
		r.Header.Get("Location") != "/auth/login?next=%2Fdags%2Fa%2Fruns%2Fr%252F1%2Ftasks%2Ft" {
		t.Errorf("page without a session: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for path, typ := range map[string]string{"/auth/login": "text/html", "/static/app.js": "text/javascript", "/static/gust.css": "text/css"} {
		if r := get(path); r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), typ) ||
			r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d %q", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	authed.Store(true)
	for path, want := range map[string]int{"/dags": 200, "/dags/x": 200, "/dags/x/runs": 200, "/": 302,
		"/static/": 404, "/static/nope.js": 404, "/dags/x/y/z": 404, "/elsewhere": 404} {
		if r := get(path); r.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, r.StatusCode, want)
		}
	}
}
