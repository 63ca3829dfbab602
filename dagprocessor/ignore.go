package dagprocessor

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	gitignore "github.com/sabhiram/go-gitignore"
)

// IgnoreFile is Airflow's name for the file that keeps paths out of the
// DAG folder's listing.
const IgnoreFile = ".airflowignore"

// ignoreRules are the patterns of one .airflowignore, relative to its folder.
type ignoreRules struct {
	base   string
	glob   *gitignore.GitIgnore
	regexp []*regexp.Regexp
}

func (r *ignoreRules) matches(path string, dir bool) bool {
	rel, err := filepath.Rel(r.base, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return false
	}
	rel = filepath.ToSlash(rel)
	if r.glob != nil {
		if dir && r.glob.MatchesPath(rel+"/") {
			return true
		}
		return r.glob.MatchesPath(rel)
	}
	for _, re := range r.regexp {
		if re.MatchString(rel) {
			return true
		}
	}
	return false
}

// readIgnore reads dir's .airflowignore in the syntax given ([core]
// dag_ignore_file_syntax: glob, gitignore's, Airflow 3's default; or
// regexp, Airflow 2's: each line an unanchored regular expression); nil
// when there is none. Lines starting with # are comments.
func readIgnore(dir, syntax string) (*ignoreRules, error) {
	f, err := os.Open(filepath.Join(dir, IgnoreFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, IgnoreFile), err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, IgnoreFile), err)
	}
	r := &ignoreRules{base: dir}
	switch syntax {
	case "", "glob":
		r.glob = gitignore.CompileIgnoreLines(lines...)
	case "regexp":
		for _, l := range lines {
			re, err := regexp.Compile(strings.TrimSpace(l))
			if err != nil {
				// As Airflow: the line is skipped, the rest of the file applies.
				slog.Warn("ignoring an invalid regexp of an .airflowignore", "file", filepath.Join(dir, IgnoreFile), "pattern", l, "err", err)
				continue
			}
			r.regexp = append(r.regexp, re)
		}
	default:
		return nil, fmt.Errorf("[core] dag_ignore_file_syntax %q: want glob or regexp", syntax)
	}
	return r, nil
}
