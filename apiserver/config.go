package apiserver

import (
	"net/http"
	"strings"

	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/secrets"
)

func (s *Server) routesConfig(r *router) {
	r.handle("GET /api/v2/config", auth.Admin, s.getConfig)
	r.handle("GET /api/v2/config/section/{section}/option/{option}", auth.Admin, s.getConfigValue)
}

// configResponse is Airflow's Config: sections of options.
type configResponse struct {
	Sections []configSection `json:"sections"`
}

type configSection struct {
	Name    string             `json:"name"`
	Options []configOptionJSON `json:"options"`
}

type configOptionJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// text is the config in airflow.cfg's form, as Airflow's text/plain answer.
func (c configResponse) text() string {
	parts := make([]string, 0, len(c.Sections))
	for _, sec := range c.Sections {
		var b strings.Builder
		b.WriteString("[" + sec.Name + "]\n")
		for _, o := range sec.Options {
			b.WriteString(o.Key + " = " + o.Value + "\n")
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, "\n")
}

// configAccept reads the Accept header as Airflow's config endpoints:
// JSON, text/plain or anything (JSON); otherwise a 406.
func configAccept(r *http.Request) (text bool, err error) {
	a := r.Header.Get("Accept")
	switch {
	case a == "" || strings.HasPrefix(a, "*/*") || strings.HasPrefix(a, "application/json"):
		return false, nil
	case strings.HasPrefix(a, "text/plain"):
		return true, nil
	}
	return false, errorf(http.StatusNotAcceptable, "Only application/json or text/plain is supported")
}

// exposedConfig checks [api] expose_config and returns the options, with
// values under a sensitive key masked as Airflow's ConfigOption does (the
// values of secret options are already hidden).
func (s *Server) exposedConfig() ([]ConfigOption, error) {
	if !s.opts.ExposeConfig {
		return nil, errorf(http.StatusForbidden,
			"Your Airflow administrator chose not to expose the configuration, most likely for security reasons.")
	}
	if s.opts.Config == nil {
		return nil, nil
	}
	opts := s.opts.Config()
	for i := range opts {
		if secrets.IsSensitiveName(opts[i].Key) {
			opts[i].Value = redacted
		}
	}
	return opts, nil
}

func writeConfig(w http.ResponseWriter, c configResponse, text bool) {
	if text {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(c.text()))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// getConfig serves the effective configuration, or one section of it.
func (s *Server) getConfig(w http.ResponseWriter, r *http.Request) error {
	text, err := configAccept(r)
	if err != nil {
		return err
	}
	opts, err := s.exposedConfig()
	if err != nil {
		return err
	}
	want := r.URL.Query().Get("section")
	out := configResponse{Sections: []configSection{}}
	index := map[string]int{}
	for _, o := range opts {
		if want != "" && o.Section != want {
			continue
		}
		i, ok := index[o.Section]
		if !ok {
			i = len(out.Sections)
			index[o.Section] = i
			out.Sections = append(out.Sections, configSection{Name: o.Section, Options: []configOptionJSON{}})
		}
		out.Sections[i].Options = append(out.Sections[i].Options, configOptionJSON{Key: o.Key, Value: o.Value})
	}
	if want != "" && len(out.Sections) == 0 {
		return errorf(http.StatusNotFound, "Section %s not found.", want)
	}
	writeConfig(w, out, text)
	return nil
}

// getConfigValue serves one option.
func (s *Server) getConfigValue(w http.ResponseWriter, r *http.Request) error {
	text, err := configAccept(r)
	if err != nil {
		return err
	}
	opts, err := s.exposedConfig()
	if err != nil {
		return err
	}
	section, option := r.PathValue("section"), r.PathValue("option")
	for _, o := range opts {
		if strings.EqualFold(o.Section, section) && strings.EqualFold(o.Key, option) {
			writeConfig(w, configResponse{Sections: []configSection{{Name: section,
				Options: []configOptionJSON{{Key: option, Value: o.Value}}}}}, text)
			return nil
		}
	}
	return errorf(http.StatusNotFound, "Option [%s/%s] not found.", section, option)
}
