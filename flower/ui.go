package flower

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

// The pages: one HTML shell and its script, stylesheet and vendored
// chart library (built by `make ui` from webui/js), all in the binary.
//
//go:embed ui
var uiFiles embed.FS

var shell = template.Must(template.ParseFS(uiFiles, "ui/index.html"))

func (s *Server) uiRoutes(mux *http.ServeMux) {
	static, _ := fs.Sub(uiFiles, "ui")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})))
	mux.HandleFunc("GET /{$}", s.index)
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Frame-Options", "DENY")
	data := map[string]any{"Prefix": s.opts.URLPrefix, "ReadOnly": s.opts.ReadOnly, "WebUI": s.opts.WebUIURL, "User": callerOf(r.Context()).name}
	if err := shell.Execute(w, data); err != nil {
		s.logger.Warn("flower: render page", "err", err)
	}
}
