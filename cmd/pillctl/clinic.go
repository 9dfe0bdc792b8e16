package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/cmd/internal/clinicdb"
	"github.com/pillbox/pillbox/schedule"
)

func init() {
	register(command{name: "clinic", help: "manage the clinic database: clinicians, patients, panels, devices, tokens, audit log (pillctl clinic help)", run: runClinic})
}

// clinicSub is one `pillctl clinic` subcommand: its words ("user add"),
// its positional arguments and what it does with the open store.
type clinicSub struct {
	words, args, help string
	nargs             int
	flags             func(fs *flag.FlagSet) // extra flags; may be nil
	run               func(cx *clinicCtx) error
	// direct, instead of run, gets the --db value itself, unopened
	// (migrate opens two databases of its own).
	direct func(cx *clinicCtx, db string) error
}

// clinicCtx is one run of a subcommand.
type clinicCtx struct {
	ctx    context.Context
	store  *clinic.Service
	actor  clinic.Actor
	args   []string
	fs     *flag.FlagSet
	stdout io.Writer
}

const defaultClinicDB = "/var/lib/pillbox-clinic/clinic.db"

func clinicSubs() []clinicSub {
	return []clinicSub{
		{words: "migrate", help: "copy the SQLite clinic database (--db FILE, or --data DIR: adherenced's) into a new, empty PostgreSQL database (--to URL) in one transaction, counts verified; stop adherenced first",
			flags: func(fs *flag.FlagSet) {
				fs.String("to", "", "the target PostgreSQL `URL` (postgres://...; its password in it or in ~/.pgpass)")
				fs.String("data", "", "adherenced's --data `DIR`: migrate DIR/clinic.db (instead of --db)")
			},
			direct: migrateClinic},
		{words: "user add", args: "USERNAME NAME", nargs: 2, help: "add a clinician (--admin: an administrator); prints the password once",
			flags: func(fs *flag.FlagSet) {
				fs.Bool("admin", false, "make an administrator, who manages accounts and panels")
			},
			run: func(cx *clinicCtx) error {
				role := clinic.RoleClinician
				if cx.fs.Lookup("admin").Value.String() == "true" {
					role = clinic.RoleAdmin
				}
				pw := clinic.NewPassword()
				u, err := cx.store.CreateUser(cx.ctx, cx.actor, cx.args[0], cx.args[1], role, pw)
				if err != nil {
					return err
				}
				fmt.Fprintf(cx.stdout, "user %s (%s, %s)\npassword: %s\n(shown once; pillctl clinic user password %s sets a new one)\n", u.Username, u.ID, u.Role, pw, u.Username)
				return nil
			}},
		{words: "user password", args: "USERNAME", nargs: 1, help: "give a user a new random password (printed once) and end their sessions",
			run: func(cx *clinicCtx) error {
				u, err := cx.store.UserByName(cx.ctx, cx.args[0])
				if err != nil {
					return err
				}
				pw := clinic.NewPassword()
				if err := cx.store.SetPassword(cx.ctx, cx.actor, u.ID, pw); err != nil {
					return err
				}
				fmt.Fprintf(cx.stdout, "password: %s\n", pw)
				return nil
			}},
		{words: "user disable", args: "USERNAME", nargs: 1, help: "disable an account: its sessions end and its API tokens stop working",
			run: func(cx *clinicCtx) error { return setUserDisabled(cx, true) }},
		{words: "user enable", args: "USERNAME", nargs: 1, help: "enable a disabled account again",
			run: func(cx *clinicCtx) error { return setUserDisabled(cx, false) }},
		{words: "users", help: "list the accounts",
			run: func(cx *clinicCtx) error {
				us, err := cx.store.Users(cx.ctx)
				if err != nil {
					return err
				}
				return table(cx.stdout, "ID\tUSERNAME\tNAME\tROLE\tDISABLED", us, func(u clinic.User) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%v", u.ID, u.Username, u.DisplayName, u.Role, u.Disabled)
				})
			}},
		{words: "patient add", args: "NAME", nargs: 1, help: "add a patient; prints the id",
			flags: func(fs *flag.FlagSet) {
				fs.String("first-name", "", "the `NAME` the clinic's texts to caregivers call the patient (default: the first word of NAME)")
			},
			run: func(cx *clinicCtx) error {
				p, err := cx.store.CreatePatient(cx.ctx, cx.actor, cx.args[0])
				if err != nil {
					return err
				}
				if first := cx.fs.Lookup("first-name").Value.String(); first != "" {
					if err := cx.store.SetFirstName(cx.ctx, cx.actor, p.ID, first); err != nil {
						return err
					}
				}
				fmt.Fprintln(cx.stdout, p.ID)
				return nil
			}},
		{words: "patient first-name", args: "PATIENT NAME", nargs: 2, help: "set what the clinic's texts to caregivers call the patient (a first name only)",
			run: func(cx *clinicCtx) error { return cx.store.SetFirstName(cx.ctx, cx.actor, cx.args[0], cx.args[1]) }},
		{words: "patients", help: "list the patients",
			run: func(cx *clinicCtx) error {
				ps, err := cx.store.Patients(cx.ctx)
				if err != nil {
					return err
				}
				return table(cx.stdout, "ID\tNAME\tIN TEXTS", ps, func(p clinic.Patient) string { return p.ID + "\t" + p.DisplayName + "\t" + p.FirstName })
			}},
		{words: "caregiver add", args: "PATIENT NAME PHONE", nargs: 3, help: "text this caregiver (E.164 phone) when the patient's dispenser goes silent",
			run: func(cx *clinicCtx) error {
				return cx.store.AddCaregiver(cx.ctx, cx.actor, cx.args[0], clinic.Caregiver{Name: cx.args[1], Phone: cx.args[2]})
			}},
		{words: "panel add", args: "USERNAME PATIENT", nargs: 2, help: "put a patient on a clinician's panel",
			run: func(cx *clinicCtx) error { return setPanel(cx, true) }},
		{words: "panel remove", args: "USERNAME PATIENT", nargs: 2, help: "take a patient off a clinician's panel",
			run: func(cx *clinicCtx) error { return setPanel(cx, false) }},
		{words: "device add", args: "PATIENT", nargs: 1, help: "register a dispenser for a patient; prints its id and token once",
			flags: func(fs *flag.FlagSet) {
				fs.String("label", "", "a `LABEL` to tell the patient's dispensers apart")
				daysFlag(fs, clinic.DefaultTokenTTL.Device, clinic.MaxTokenTTL.Device)
			},
			run: func(cx *clinicCtx) error {
				ttl, err := days(cx)
				if err != nil {
					return err
				}
				cx.store.TokenTTL.Device = ttl
				d, tok, err := cx.store.RegisterDevice(cx.ctx, cx.actor, cx.args[0], cx.fs.Lookup("label").Value.String())
				if err != nil {
					return err
				}
				fmt.Fprintf(cx.stdout, "device: %s\ntoken:  %s\nexpires: %s\n(shown once: put the token in the dispenser's token_file, mode 0600, and the device id in its sync: section)\n",
					d.ID, tok, expiry(ttl))
				return nil
			}},
		{words: "device rotate", args: "DEVICE", nargs: 1, help: "give a dispenser a new token (printed once); its old tokens stop working",
			flags: func(fs *flag.FlagSet) { daysFlag(fs, clinic.DefaultTokenTTL.Device, clinic.MaxTokenTTL.Device) },
			run: func(cx *clinicCtx) error {
				ttl, err := days(cx)
				if err != nil {
					return err
				}
				cx.store.TokenTTL.Device = ttl
				tok, err := cx.store.RotateDeviceToken(cx.ctx, cx.actor, cx.args[0])
				if err == nil {
					fmt.Fprintf(cx.stdout, "token: %s\nexpires: %s\n", tok, expiry(ttl))
				}
				return err
			}},
		{words: "device disable", args: "DEVICE", nargs: 1, help: "refuse a dispenser's pushes and stop watching it for silence",
			run: func(cx *clinicCtx) error { return cx.store.SetDeviceDisabled(cx.ctx, cx.actor, cx.args[0], true) }},
		{words: "devices", help: "list the dispensers and when each was last heard",
			run: func(cx *clinicCtx) error {
				ds, err := cx.store.Devices(cx.ctx, "")
				if err != nil {
					return err
				}
				return table(cx.stdout, "ID\tPATIENT\tLABEL\tLAST SEEN\tSILENT SINCE\tDISABLED", ds, func(d clinic.Device) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%v", d.ID, d.PatientID, d.Label, when(d.LastSeen), when(d.SilentSince), d.Disabled)
				})
			}},
		{words: "token add", args: "USERNAME", nargs: 1, help: "give a user an API token for scripts (printed once)",
			flags: func(fs *flag.FlagSet) {
				fs.String("label", "", "what the token is for")
				daysFlag(fs, clinic.DefaultTokenTTL.API, clinic.MaxTokenTTL.API)
			},
			run: func(cx *clinicCtx) error {
				u, err := cx.store.UserByName(cx.ctx, cx.args[0])
				if err != nil {
					return err
				}
				ttl, err := days(cx)
				if err != nil {
					return err
				}
				cx.store.TokenTTL.API = ttl
				tok, err := cx.store.IssueAPIToken(cx.ctx, cx.actor, u.ID, cx.fs.Lookup("label").Value.String())
				if err == nil {
					fmt.Fprintf(cx.stdout, "token: %s\nexpires: %s\n", tok, expiry(ttl))
				}
				return err
			}},
		{words: "token revoke", args: "TOKEN-ID", nargs: 1, help: "revoke a token by its id (see pillctl clinic tokens)",
			run: func(cx *clinicCtx) error { return cx.store.RevokeToken(cx.ctx, cx.actor, cx.args[0]) }},
		{words: "tokens", help: "list the tokens (ids and owners, never the tokens)",
			run: func(cx *clinicCtx) error {
				ts, err := cx.store.Tokens(cx.ctx)
				if err != nil {
					return err
				}
				return table(cx.stdout, "ID\tKIND\tOWNER\tLABEL\tCREATED\tEXPIRES\tREVOKED", ts, func(t clinic.TokenInfo) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s", t.ID, t.Kind, t.UserID+t.DeviceID, t.Label, when(t.Created), when(t.Expires), when(t.Revoked))
				})
			}},
		{words: "audit", help: "show the audit log as JSON lines",
			flags: func(fs *flag.FlagSet) {
				fs.String("patient", "", "only entries about this patient `ID`")
				fs.Int64("after", 0, "only entries after this sequence `NUMBER`")
				fs.Int("limit", 100, "at most this many entries (1000 at most)")
			},
			run: func(cx *clinicCtx) error {
				q := clinic.AuditQuery{PatientID: cx.fs.Lookup("patient").Value.String()}
				fmt.Sscan(cx.fs.Lookup("after").Value.String(), &q.After)
				fmt.Sscan(cx.fs.Lookup("limit").Value.String(), &q.Limit)
				es, err := cx.store.AuditLog(cx.ctx, q)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(cx.stdout)
				for _, e := range es {
					if err := enc.Encode(e); err != nil {
						return err
					}
				}
				return nil
			}},
		{words: "texts", help: "show the texts the clinic queued and sent (dispenser silent, back)",
			run: func(cx *clinicCtx) error {
				ts, err := cx.store.Texts(cx.ctx)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(cx.stdout)
				for _, t := range ts {
					if err := enc.Encode(t); err != nil {
						return err
					}
				}
				return nil
			}},
	}
}

// daysFlag adds --days, a new token's lifetime.
func daysFlag(fs *flag.FlagSet, def, most time.Duration) {
	fs.Int("days", int(def.Hours()/24), fmt.Sprintf("the token lasts this many `DAYS` (at most %d)", int(most.Hours()/24)))
}

// days is --days as a lifetime; the store refuses one over the maximum.
func days(cx *clinicCtx) (time.Duration, error) {
	var n int
	fmt.Sscan(cx.fs.Lookup("days").Value.String(), &n)
	if n < 1 {
		return 0, errors.New("--days must be at least 1")
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

func expiry(ttl time.Duration) string {
	return time.Now().Add(ttl).UTC().Format("2006-01-02")
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func table[T any](w io.Writer, header string, rows []T, line func(T) string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, line(r))
	}
	return tw.Flush()
}

func setUserDisabled(cx *clinicCtx, disabled bool) error {
	u, err := cx.store.UserByName(cx.ctx, cx.args[0])
	if err != nil {
		return err
	}
	return cx.store.SetUserDisabled(cx.ctx, cx.actor, u.ID, disabled)
}

func setPanel(cx *clinicCtx, on bool) error {
	u, err := cx.store.UserByName(cx.ctx, cx.args[0])
	if err != nil {
		return err
	}
	return cx.store.SetPanel(cx.ctx, cx.actor, u.ID, cx.args[1], on)
}

func clinicUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: pillctl clinic SUBCOMMAND [--db FILE] [flags] ARGS (flags before or after ARGS)\n\nThe database is adherenced's (default %s); every change is audited under your user name.\n\nsubcommands:\n", defaultClinicDB)
	for _, s := range clinicSubs() {
		fmt.Fprintf(w, "  %-32s %s\n", s.words+" "+s.args, s.help)
	}
}

func runClinic(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		clinicUsage(w)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	subs := clinicSubs()
	i := slices.IndexFunc(subs, func(s clinicSub) bool {
		ws := strings.Fields(s.words)
		return len(args) >= len(ws) && slices.Equal(args[:len(ws)], ws)
	})
	if i < 0 {
		fmt.Fprintf(stderr, "pillctl clinic: unknown subcommand %q\n", strings.Join(args[:min(2, len(args))], " "))
		clinicUsage(stderr)
		return 2
	}
	sub := subs[i]
	fs := flag.NewFlagSet("pillctl clinic "+sub.words, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pillctl clinic %s [flags] %s\n%s\n", sub.words, sub.args, sub.help)
		fs.PrintDefaults()
	}
	db := fs.String("db", defaultClinicDB, "the clinic database `FILE`")
	if sub.flags != nil {
		sub.flags(fs)
	}
	if status, ok := parseFlags(fs, args[len(strings.Fields(sub.words)):], sub.nargs); !ok {
		return status
	}
	if sub.direct != nil {
		if err := sub.direct(&clinicCtx{ctx: context.Background(), actor: clinic.CLI(osUser()), fs: fs, stdout: stdout}, *db); err != nil {
			fmt.Fprintln(stderr, "pillctl clinic:", err)
			return 1
		}
		return 0
	}
	if err := withClinic(*db, func(ctx context.Context, st *clinic.Service) error {
		return sub.run(&clinicCtx{ctx: ctx, store: st, actor: clinic.CLI(osUser()), args: fs.Args(), fs: fs, stdout: stdout})
	}); err != nil {
		fmt.Fprintln(stderr, "pillctl clinic:", err)
		return 1
	}
	return 0
}

// withClinic opens an existing clinic database: a mistyped path must not
// create a new, empty one.
func withClinic(db string, f func(ctx context.Context, st *clinic.Service) error) error {
	ctx := context.Background()
	st, err := clinicdb.OpenExisting(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(ctx, clinic.New(st, schedule.NewRealClock()))
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
