package templating

import (
	"fmt"
	"strings"
	"time"
)

// Python's strftime directives in Go layouts, for ds_format and
// datetime.strftime in templates.
var directives = map[byte]string{
	'Y': "2006", 'y': "06", 'm': "01", 'd': "02", 'H': "15", 'I': "03", 'M': "04", 'S': "05",
	'p': "PM", 'b': "Jan", 'B': "January", 'a': "Mon", 'A': "Monday", 'z': "-0700", 'Z': "MST",
	'f': "000000", 'j': "002",
}

// layout converts a strftime format to a Go layout; text outside directives
// is kept (digits in it would be read as layout elements, so they are
// rejected rather than silently mangled).
func layout(format string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			if strings.ContainsRune("0123456789", rune(c)) || strings.HasPrefix(format[i:], "Jan") || strings.HasPrefix(format[i:], "Mon") ||
				strings.HasPrefix(format[i:], "MST") || strings.HasPrefix(format[i:], "PM") {
				return "", fmt.Errorf("format %q: literal text %q is not supported", format, format[i:])
			}
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(format) {
			return "", fmt.Errorf("format %q ends with a lone %%", format)
		}
		i++
		if format[i] == '%' {
			b.WriteByte('%')
			continue
		}
		d, ok := directives[format[i]]
		if !ok {
			return "", fmt.Errorf("format %q: directive %%%c is not supported", format, format[i])
		}
		b.WriteString(d)
	}
	return b.String(), nil
}

func strftime(t time.Time, format string) (string, error) {
	l, err := layout(format)
	if err != nil {
		return "", err
	}
	s := t.Format(l)
	if strings.Contains(format, "%f") {
		// Go's 000000 after a non-dot prints fraction digits only after '.'.
		s = strings.ReplaceAll(s, "000000", fmt.Sprintf("%06d", t.Nanosecond()/1000))
	}
	return s, nil
}

func strptime(s, format string) (time.Time, error) {
	l, err := layout(format)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(l, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match format %q", s, format)
	}
	return t, nil
}
