package dagspec

import (
	"errors"
	"strings"
	"testing"
)

// TestYAMLErrorLine checks that a YAML syntax error is reported on the line
// of the offending token, not on the line where yaml.v3's enclosing block
// starts.
func TestYAMLErrorLine(t *testing.T) {
	_, err := ParseFile("testdata/bad_indent.yaml", Options{})
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want a ParseError", err)
	}
	if pe.Line != 9 || !strings.HasPrefix(pe.Msg, "invalid YAML: ") {
		t.Errorf("bad indent: %v, want line 9 (retry_delay_sec)", err)
	}
	if want := "testdata/bad_indent.yaml:9: invalid YAML: did not find expected key"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}

	cases := map[string]struct {
		src  string
		line int
	}{
		"unindent in a nested mapping": {"d:\n  schedule: null\n  tasks:\n    a:\n      operator: bash\n      bash_command: echo\n     retries: 1\n", 7},
		"unindent in a top mapping":    {"d:\n  a: 1\n b: 2\n", 3},
		"over-indented key":            {"d:\n  tasks:\n    a:\n      operator: bash\n      bash_command: echo\n        retries: 1\n", 6},
		"tab as indentation":           {"d:\n  a: 1\n\tb: 2\n", 3},
		"unclosed flow sequence":       {"d:\n  schedule: null\n  tasks: [\n", 3},
		"unclosed quote":               {"d:\n  schedule: null\n  description: 'never closed\n  tasks: {}\n", 3},
		"key on a value's line":        {"d:\n  schedule: null\n  a: b: c\n", 3},
	}
	for name, c := range cases {
		_, err := Parse("bad.yaml", []byte(c.src))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: err = %v, want a ParseError", name, err)
			continue
		}
		if pe.Line != c.line || !strings.HasPrefix(pe.Msg, "invalid YAML: ") {
			t.Errorf("%s: %v, want line %d", name, err, c.line)
		}
	}
}
