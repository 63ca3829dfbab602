// Package webui is gust's web UI: HTML pages and the ES modules and CSS they
// load, embedded in the binary (no CDN, no external fonts). The pages draw
// themselves from the public /api/v2 and the api-server's private /ui/...
// endpoints; this package serves only files, so it needs no database.
//
// Each view is one module in static/ named after it (dags.js, grid.js,
// runs.js, tilog.js), started by the router in app.js; api.js is the one
// way to the API (session cookie, CSRF header, errors as the API's detail)
// and builds elements with text only. State colours live once, in
// static/gust.css. The login form posts to the api-server's /auth/login.
package webui

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed static
var files embed.FS

// LoginPath is the login page, where GET /api/v2/auth/login sends browsers.
const LoginPath = "/auth/login"

// csp lets pages load only this server's scripts, styles and data: no
// inline script, no inline event handler, no style attribute; the one
// exception is the <style> elements that the JSON editor (CodeMirror)
// adds, which carry the page's per-load nonce.
const csp = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// nonceMark is where app.html takes the page's nonce.
const nonceMark = "{{csp_nonce}}"

// Handler serves the UI. authed reports whether a request carries a valid
// session; a page load without one is sent to the login page.
func Handler(authed func(*http.Request) bool) http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	assets := http.StripPrefix("/static/", http.FileServerFS(static))
	page := func(name string) []byte {
		b, err := fs.ReadFile(static, name)
		if err != nil {
			panic(err)
		}
		return b
	}
	app, login := page("app.html"), page("login.html")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET "+LoginPath, func(w http.ResponseWriter, r *http.Request) {
		writePage(w, login)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/home", http.StatusFound)
	})
	appPage := func(w http.ResponseWriter, r *http.Request) {
		if !authed(r) {
			http.Redirect(w, r, LoginPath+"?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusFound)
			return
		}
		var b [18]byte
		_, _ = rand.Read(b[:]) // crypto/rand never fails (Go 1.24+)
		nonce := base64.StdEncoding.EncodeToString(b[:])
		w.Header().Set("Content-Security-Policy", csp+"; style-src 'self' 'nonce-"+nonce+"'")
		writePage(w, bytes.Replace(app, []byte(nonceMark), []byte(nonce), 1))
	}
	// Every view is the same shell; app.js routes on the path (and says
	// "Page not found" for a tab or admin page it does not know).
	for _, p := range []string{"/home", "/dags", "/dags/{dag_id}", "/dags/{dag_id}/{tab}",
		"/dags/{dag_id}/runs/{run_id}", "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}",
		"/admin/{page}"} {
		mux.HandleFunc("GET "+p, appPage)
	}
	return mux
}

// writePage writes an HTML page with the CSP (unless the caller set its
// own) and headers that keep it out of caches and frames.
func writePage(w http.ResponseWriter, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", csp)
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "same-origin")
	_, _ = w.Write(b)
}
