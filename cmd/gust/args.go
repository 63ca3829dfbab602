package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// intersperse moves the flags of the invoked command before its positional
// arguments, so that Airflow's habit `gust dags trigger DAG --conf '{}'`
// works: urfave/cli/v2 stops reading flags at the first positional argument.
// Everything after "--" stays as it is.
func intersperse(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
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
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range leaf.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, positional []string
	rest := args[i:]
	for j := 0; j < len(rest); j++ {
		a := rest[j]
		if a == "--" {
			positional = append(positional, rest[j:]...)
			break
		}
		if len(a) > 1 && strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if takesValue[name] && j+1 < len(rest) {
				flags = append(flags, rest[j+1])
				j++
			}
			continue
		}
		positional = append(positional, a)
	}
	out := append([]string{}, args[:i]...)
	out = append(out, flags...)
	return append(out, positional...)
}
