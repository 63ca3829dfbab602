package dagspec

import (
	"os"
	"regexp"
)

// envVarRE matches $name and ${name} as Python's os.path.expandvars does.
var envVarRE = regexp.MustCompile(`\$(\w+|\{[^}]*\})`)

// ExpandVars is what dag-factory does to a YAML file before reading it
// (os.path.expandvars on its text): $NAME and ${NAME} become the
// environment's value, and stay as they are when NAME is not set.
// CONFIG_ROOT_DIR, which dag-factory's examples use for the folder of their
// files, is dagsFolder when the environment does not set it.
func ExpandVars(src []byte, dagsFolder string) []byte {
	return envVarRE.ReplaceAllFunc(src, func(m []byte) []byte {
		name := string(m[1:])
		if name[0] == '{' {
			name = name[1 : len(name)-1]
		}
		if v, ok := os.LookupEnv(name); ok {
			return []byte(v)
		}
		if name == "CONFIG_ROOT_DIR" && dagsFolder != "" {
			return []byte(dagsFolder)
		}
		return m
	})
}
