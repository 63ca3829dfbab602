package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// intersperse moves the flags of the invoked command before its positional
// arguments, so that Airflow's habit `gust dags trigger DAG --conf '{}'`
// works: urfave/cli/v2 stops reading flags at the first positional argument.
// Everything after "--" is positional, and so are negative numbers
// (`gust pools set p -1 unlimited`), as with Airflow's argparse.
//
// A flag that takes a value but is last, or followed by another flag, is an
// error that says so: the flag parser would take the next word, argument or
// flag, as its value and fail later with a puzzling message.
func intersperse(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	// Find the command path: leading words that name subcommands.
	cmds := app.Commands
	var leaf *cli.Command
	i := 1
	for i < len(args) {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				next = c
				break
			}
		}
		if next == nil {
			break
		}
		leaf = next
		cmds = next.Subcommands
		i++
	}
	if leaf == nil || len(leaf.Subcommands) > 0 {
		return args, nil
	}
	takesValue := map[string]bool{}
	for _, f := range leaf.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	dashdash := false
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j+1:]...)
			dashdash = true
			break
		}
		if !isFlag(a) {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if hasValue || !takesValue[name] {
			continue
		}
		if j+1 == len(rest) || rest[j+1] == "--" || isFlag(rest[j+1]) {
			return nil, fmt.Errorf("flag %s needs a value (see `%s --help`)", dashed(name), strings.Join(append([]string{"gust"}, args[1:i]...), " "))
		}
		flags = append(flags, rest[j+1])
		j++
	}
	out := append([]string{}, args[:i]...)
	out = append(out, flags...)
	if dashdash || len(positional) > 0 && strings.HasPrefix(positional[0], "-") {
		out = append(out, "--")
	}
	return append(out, positional...), nil
}

// isFlag tells a flag from an argument: -x, --name, --name=value, but not
// "-" alone nor a negative number.
func isFlag(a string) bool {
	if len(a) < 2 || a[0] != '-' {
		return false
	}
	_, err := strconv.ParseFloat(a, 64)
	return err != nil
}

// dashed writes a flag name as a user types it: -o, --output.
func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// oneLineErrors makes the usage errors of every command one line, as every
// other error is: urfave/cli prints the command's whole help with an unknown
// flag (unless the command has OnUsageError) and with a missing required
// flag (always), so required flags are checked here instead.
func oneLineErrors(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = usageError
		var required []cli.Flag
		for i, f := range c.Flags {
			if sf, ok := f.(*cli.StringFlag); ok && sf.Required {
				cp := *sf // the flag may be shared: change a copy
				cp.Required = false
				c.Flags[i] = &cp
				required = append(required, &cp)
			}
		}
		if len(required) > 0 {
			before := c.Before
			c.Before = func(ctx *cli.Context) error {
				for _, f := range required {
					if !ctx.IsSet(f.Names()[0]) {
						return fmt.Errorf("flag %s is required (see `%s --help`)", dashed(f.Names()[0]), ctx.Command.HelpName)
					}
				}
				if before != nil {
					return before(ctx)
				}
				return nil
			}
		}
		oneLineErrors(c.Subcommands)
	}
}

var invalidValue = regexp.MustCompile(`^invalid (?:boolean )?value ("(?:[^"\\]|\\.)*") for (?:flag )?-+([^:]+): (.*)$`)

// usageError words a flag parsing error of the standard flag package as one
// line that names the flag as typed and points to the command's help.
func usageError(c *cli.Context, err error, _ bool) error {
	help := "gust"
	var flags []cli.Flag
	if c.Command != nil {
		if c.Command.HelpName != "" {
			help = c.Command.HelpName
		}
		flags = c.Command.Flags
	} else if c.App != nil {
		flags = c.App.Flags
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		msg = "unknown flag " + dashed(name)
		if s := suggestFlag(flags, name); s != "" {
			msg += "; did you mean " + s + "?"
		}
	} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		msg = fmt.Sprintf("flag %s needs a value", dashed(strings.TrimLeft(name, "-")))
	} else if m := invalidValue.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("flag %s: invalid value %s: %s", dashed(m[2]), m[1], m[3])
		switch lookupFlag(flags, m[2]).(type) {
		case *cli.IntFlag, *cli.Int64Flag, *cli.UintFlag, *cli.Uint64Flag:
			msg = fmt.Sprintf("flag %s must be an integer, got %s", dashed(m[2]), m[1])
		case *cli.BoolFlag:
			msg = fmt.Sprintf("flag %s takes no value, or =true or =false, got %s", dashed(m[2]), m[1])
		}
	}
	return fmt.Errorf("%s (see `%s --help`)", msg, help)
}

func lookupFlag(flags []cli.Flag, name string) cli.Flag {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

// suggestFlag returns the flag the user most likely meant: one whose name
// is within two edits of name, or starts with it; "" when none is close.
func suggestFlag(flags []cli.Flag, name string) string {
	best, bestDist := "", 3
	for _, f := range append(append([]cli.Flag{}, flags...), cli.HelpFlag) {
		for _, n := range f.Names() {
			d := editDistance(name, n)
			if len(name) > 1 && strings.HasPrefix(n, name) && d > 1 {
				d = 1
			}
			if d < bestDist && d < len(n) {
				best, bestDist = dashed(n), d
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
