package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"

	"github.com/gust-sched/gust/apiserver"
	"github.com/gust-sched/gust/auth"
	"github.com/gust-sched/gust/common/secrets"
	"github.com/gust-sched/gust/config"
	"github.com/gust-sched/gust/metadb"
)

// apiURL is where users reach the api-server.
func apiURL(cfg *config.Config) string {
	if cfg.API.BaseURL != "" {
		return strings.TrimSuffix(cfg.API.BaseURL, "/")
	}
	return "http://" + net.JoinHostPort(cfg.API.Host, strconv.Itoa(cfg.API.Port))
}

func (a *app) apiServer(cfg *config.Config, db *metadb.DB, reg *prometheus.Registry, log *slog.Logger) (*apiserver.Server, error) {
	kr, err := secrets.NewKeyring(cfg.Core.FernetKey)
	if err != nil {
		return nil, err
	}
	return apiserver.New(apiserver.Options{
		Addr:                 net.JoinHostPort(cfg.API.Host, strconv.Itoa(cfg.API.Port)),
		Version:              version,
		DagsFolder:           cfg.Core.DagsFolder,
		Metrics:              reg,
		JWTSecret:            cfg.APIAuth.JWTSecret,
		JWTExpiration:        cfg.APIAuth.JWTExpirationTime,
		ExposeConfig:         cfg.API.ExposeConfig,
		TestConnection:       strings.EqualFold(cfg.Core.TestConnection, "Enabled"),
		DefaultQueue:         cfg.Celery.DefaultQueue,
		AllowTriggerInFuture: cfg.Scheduler.AllowTriggerInFuture,
		MaxActiveRunsPerDag:  cfg.Core.MaxActiveRunsPerDag,
		MaxActiveTasksPerDag: cfg.Core.MaxActiveTasksPerDag,
		Config: func() []apiserver.ConfigOption {
			var out []apiserver.ConfigOption
			for _, v := range cfg.Values() {
				out = append(out, apiserver.ConfigOption{Section: v.Option.Section, Key: v.Option.Key, Value: v.Display(), Source: string(v.Source)})
			}
			return out
		},
	}, db, kr, log)
}

func (a *app) apiServerCommand() *cli.Command {
	return &cli.Command{
		Name:    "api-server",
		Aliases: []string{"webserver"},
		Usage:   "serve Airflow 3's REST API (/api/v2) on [api] host:port; run as many as you like behind a load balancer",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Aliases: []string{"H"}, Usage: "address to listen on (default [api] host)"},
			&cli.IntFlag{Name: "port", Aliases: []string{"p"}, Usage: "port (default [api] port)"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if c.IsSet("host") {
				cfg.API.Host = c.String("host")
			}
			if c.IsSet("port") {
				cfg.API.Port = c.Int("port")
			}
			return a.runParts(c, parts{api: true})
		},
	}
}

// standaloneAdmin makes sure `gust standalone` can be logged into: when the
// database has no user, it creates "admin" with a generated password, prints
// it once and keeps it in $GUST_HOME/standalone_admin_password.txt (0600),
// as Airflow's standalone does. It returns how to log in.
func (a *app) standaloneAdmin(c *cli.Context) (string, error) {
	cfg, err := a.config()
	if err != nil {
		return "", err
	}
	file := filepath.Join(cfg.Home, "standalone_admin_password.txt")
	later := "log in with a user from `gust users create`"
	if cfg.Database.MigrateOnStart {
		// The daemons would do it a moment later; the first user needs it now.
		if err := ensureDatabase(c.Context, cfg.Database.SQLConn); err != nil {
			return later, nil //nolint:nilerr // the daemons wait for the database
		}
	}
	db, err := a.openDB(c.Context)
	if err != nil {
		return later, nil //nolint:nilerr // the daemons wait for the database
	}
	defer db.Close()
	if cfg.Database.MigrateOnStart {
		if _, err := db.Migrate(c.Context, cfg.Core.DefaultPoolTaskSlotCount); err != nil {
			return later, nil //nolint:nilerr // reported again by the daemons
		}
	}
	us, err := metadb.ListUsers(c.Context, db.Pool)
	if err != nil {
		return later, nil //nolint:nilerr // migrations pending
	}
	if len(us) > 0 {
		if _, err := os.Stat(file); err == nil {
			return "user admin, password in " + file, nil
		}
		return later, nil
	}
	pw := randomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := metadb.CreateUser(c.Context, db.Pool, &metadb.User{Username: "admin", Role: auth.Admin.String()}, hash); err != nil {
		return "", err
	}
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("keep the admin password: %w", err)
	}
	fmt.Fprintf(a.stdout, "Created user admin with the generated password %s (kept in %s)\n", pw, file)
	return "user admin, password in " + file, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cliOwner is who the audit log names for a CLI command.
func cliOwner() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return "cli:" + name
}

func (a *app) usersCommand() *cli.Command {
	roleUsage := "Viewer, User, Op or Admin"
	return &cli.Command{
		Name:  "users",
		Usage: "manage the users of the REST API and web UI",
		Subcommands: []*cli.Command{
			{
				Name:  "create",
				Usage: "create a user",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Required: true, Usage: "login name"},
					&cli.StringFlag{Name: "role", Aliases: []string{"r"}, Required: true, Usage: roleUsage},
					&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "the password (else --use-random-password)"},
					&cli.BoolFlag{Name: "use-random-password", Usage: "generate a password and print it once"},
					&cli.StringFlag{Name: "email", Aliases: []string{"e"}, Usage: "e-mail address"},
					&cli.StringFlag{Name: "firstname", Aliases: []string{"f"}, Usage: "first name"},
					&cli.StringFlag{Name: "lastname", Aliases: []string{"l"}, Usage: "last name"},
				},
				Action: func(c *cli.Context) error {
					role, err := auth.ParseRole(c.String("role"))
					if err != nil {
						return err
					}
					pw, random := c.String("password"), c.Bool("use-random-password")
					switch {
					case pw != "" && random:
						return errors.New("give --password or --use-random-password, not both")
					case pw == "" && !random:
						return errors.New("a password is needed: --password P or --use-random-password")
					case random:
						pw = randomPassword()
					}
					hash, err := auth.HashPassword(pw)
					if err != nil {
						return err
					}
					u := &metadb.User{Username: c.String("username"), Role: role.String(), Email: c.String("email"),
						FirstName: c.String("firstname"), LastName: c.String("lastname")}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.CreateUser(c.Context, db.Pool, u, hash); err != nil {
							return err
						}
						if random {
							fmt.Fprintf(a.stdout, "User %s created with role %s and password %s\n", u.Username, u.Role, pw)
						} else {
							fmt.Fprintf(a.stdout, "User %s created with role %s\n", u.Username, u.Role)
						}
						return nil
					})
				},
			},
			{
				Name: "list", Usage: "list users", Flags: []cli.Flag{outputFlag},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						us, err := metadb.ListUsers(c.Context, db.Pool)
						if err != nil {
							return err
						}
						rows := make([]*record, 0, len(us))
						for _, u := range us {
							rows = append(rows, newRecord().set("id", u.ID).set("username", u.Username).set("email", u.Email).
								set("first_name", u.FirstName).set("last_name", u.LastName).set("roles", []string{u.Role}).set("active", u.Active))
						}
						return printRecords(a.stdout, c.String("output"), rows)
					})
				},
			},
			{
				Name: "delete", Usage: "delete a user",
				Flags: []cli.Flag{&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Required: true, Usage: "login name"}},
				Action: func(c *cli.Context) error {
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.DeleteUser(c.Context, db.Pool, c.String("username")); err != nil {
							return err
						}
						fmt.Fprintf(a.stdout, "User %s deleted\n", c.String("username"))
						return nil
					})
				},
			},
			{
				Name: "reset-password", Usage: "set a user's password",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Required: true, Usage: "login name"},
					&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "the new password (else --use-random-password)"},
					&cli.BoolFlag{Name: "use-random-password", Usage: "generate a password and print it once"},
				},
				Action: func(c *cli.Context) error {
					pw, random := c.String("password"), c.Bool("use-random-password")
					switch {
					case pw != "" && random:
						return errors.New("give --password or --use-random-password, not both")
					case pw == "" && !random:
						return errors.New("a password is needed: --password P or --use-random-password")
					case random:
						pw = randomPassword()
					}
					hash, err := auth.HashPassword(pw)
					if err != nil {
						return err
					}
					return a.withDB(c, func(db *metadb.DB) error {
						if err := metadb.SetPassword(c.Context, db.Pool, c.String("username"), hash); err != nil {
							return err
						}
						if random {
							fmt.Fprintf(a.stdout, "Password of %s reset to %s\n", c.String("username"), pw)
						} else {
							fmt.Fprintf(a.stdout, "Password of %s reset\n", c.String("username"))
						}
						return nil
					})
				},
			},
		},
	}
}
