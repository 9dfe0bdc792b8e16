// Package doccheck finds the shell commands that README.md and docs/*.md
// show and sorts them by what can be checked of them on a developer's
// machine. Its test (docs_test.go) runs every one that can run here,
// against freshly built binaries in a scratch copy of a demo setup, so that
// every command shown in the docs runs as written.
//
// A command is a line of a shell code block (```sh, ```bash, ```console),
// a line of an unmarked code block or an indented block that starts with
// a known program or a loop, or a `code span` in prose that starts with a
// known program; lines ending in "\", "|" or "&&", and for/while loops,
// are joined, and a trailing "# comment" is dropped. Blocks marked with
// another language (```text for output, ```yaml) hold no commands.
package doccheck

import (
	"bufio"
	"bytes"
	"regexp"
	"slices"
	"strings"
)

// Command is one command a Markdown file shows.
type Command struct {
	File string // the file as named to Extract
	Line int    // its first line
	Text string // as written: continued lines joined, the comment dropped
	// Inline is set for a `code span` in prose, which may only name a
	// command ("`pillctl report`") rather than give one to type.
	Inline bool
}

// Programs are the commands the docs use; a line of a code block that is
// not marked as shell, or a code span, is a command when it starts with
// one of them.
var Programs = []string{
	"pillctl", "dispenserd", "adherenced", "pillload", "pillstress",
	"make", "go", "curl", "sudo", "systemctl", "journalctl", "bluetoothctl",
	"raspi-config", "apt", "apt-get", "scp", "espeak-ng", "aplay", "npm",
	"node", "openssl", "git", "export", "i2cdetect",
}

var (
	fence      = regexp.MustCompile("^\\s*(```+|~~~+)\\s*([A-Za-z0-9_-]*)")
	codeSpan   = regexp.MustCompile("`([^`]+)`")
	assignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// shellLangs are the info strings of code blocks whose every line is a
// command. A block marked with another language (text, yaml, json, go)
// holds none; an unmarked one holds those of its lines that start with a
// known program.
var shellLangs = []string{"sh", "bash", "shell", "console"}

// Extract returns the commands in a Markdown file, in order.
func Extract(file string, src []byte) []Command {
	var out []Command
	var (
		inFence   bool
		fenceMark string
		shell     bool
		other     bool // a block in another language: no commands
		prevBlank = true
		inIndent  bool
		pending   *Command // a command whose line continues
	)
	flush := func() {
		if pending != nil {
			if t := strings.TrimSpace(pending.Text); t != "" {
				pending.Text = t
				out = append(out, *pending)
			}
			pending = nil
		}
	}
	// add takes one line of a code block; every is set where every line
	// is a command (a shell block), else only lines starting with a
	// known program start one.
	add := func(n int, line string, every bool) {
		text := strings.TrimSpace(stripComment(line))
		if pending != nil {
			pending.Text += " " + text
		} else {
			if text == "" || text == "$" || (!every && !startsWithProgram(text) && !startsLoop(text)) {
				return
			}
			text = strings.TrimPrefix(text, "$ ")
			pending = &Command{File: file, Line: n, Text: text}
		}
		if t, cont := continues(pending.Text); cont {
			pending.Text = t
			return
		}
		flush()
	}
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 1024*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fence.FindStringSubmatch(line); m != nil && (!inFence || strings.HasPrefix(m[1], fenceMark)) {
			flush()
			if inFence {
				inFence = false
			} else {
				lang := strings.ToLower(m[2])
				inFence, fenceMark = true, m[1]
				shell, other = slices.Contains(shellLangs, lang), lang != "" && !slices.Contains(shellLangs, lang)
			}
			prevBlank = false
			continue
		}
		if inFence {
			if !other {
				add(n, line, shell)
			}
			continue
		}
		indented := strings.HasPrefix(line, "    ") || strings.HasPrefix(line, "\t")
		if indented && strings.TrimSpace(line) != "" && (prevBlank || inIndent) {
			inIndent = true
			add(n, line, false)
			continue
		}
		blank := strings.TrimSpace(line) == ""
		if !blank {
			flush()
			inIndent = false
		}
		prevBlank = blank
		if blank {
			continue
		}
		for _, m := range codeSpan.FindAllStringSubmatch(line, -1) {
			if t := strings.TrimSpace(m[1]); startsWithProgram(t) {
				out = append(out, Command{File: file, Line: n, Text: t, Inline: true})
			}
		}
	}
	flush()
	return out
}

// startsLoop reports whether a line of a code block starts a shell loop,
// which holds commands.
func startsLoop(s string) bool {
	return strings.HasPrefix(s, "for ") || strings.HasPrefix(s, "while ")
}

// startsWithProgram reports whether s, after any VAR=value, starts with
// one of Programs.
func startsWithProgram(s string) bool {
	ws := strings.Fields(s)
	for len(ws) > 0 && assignment.MatchString(ws[0]) {
		ws = ws[1:]
	}
	return len(ws) > 0 && slices.Contains(Programs, ws[0])
}

// continues reports whether a command goes on on the next line, and
// returns it without a trailing backslash.
func continues(s string) (string, bool) {
	t := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(t, "\\"):
		return strings.TrimSpace(strings.TrimSuffix(t, "\\")), true
	case strings.HasSuffix(t, "|"), strings.HasSuffix(t, "&&"), strings.HasSuffix(t, "||"):
		return t, true
	}
	ws := Words(t)
	open := 0
	for _, w := range ws {
		switch w {
		case "for", "while", "until", "if", "case":
			open++
		case "done", "fi", "esac":
			open--
		}
	}
	return t, open > 0
}

// stripComment drops a "# comment": a # at the start of the line or after
// a space, outside quotes.
func stripComment(line string) string {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return line[:i]
		}
		prev = r
	}
	return line
}

// Words splits a command into words as the shell would for simple
// commands: at blanks, with quotes grouping and removed. It does no
// expansion; it is for reading commands, not running them.
func Words(s string) []string {
	var out []string
	var b strings.Builder
	var quote rune
	inWord := false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				out = append(out, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, b.String())
	}
	return out
}

// Class is what can be checked of a command here.
type Class int

const (
	// Run: run in a scratch copy of a demo setup; it must exit 0 without
	// printing usage (and, for curl, without an API error).
	Run Class = iota
	// Daemon: dispenserd or adherenced serving; started on a free port,
	// it must say it is ready, then stop cleanly.
	Daemon
	// MakeTarget: the make targets and variables it names must exist (the
	// targets themselves run for minutes to hours; CI runs them).
	MakeTarget
	// GoCommand: go test, or a harness that runs for minutes (go run of
	// pillload or pillstress, pillctl backtest): its packages, the tests
	// its -run or -bench names and its flags must exist (make test runs
	// the tests and the harnesses at CI size).
	GoCommand
	// System: needs the device's or the server's own system (root,
	// systemd, BlueZ, apt, an audio device, installed files).
	System
	// Mention: a command named in prose, not given to type.
	Mention
	// Listed: in the list of commands that cannot run here, with why.
	Listed
)

func (c Class) String() string {
	return [...]string{"run", "daemon", "make target", "go command", "system", "mention", "listed"}[c]
}

// systemPrograms need the device's or server's system, with why.
var systemPrograms = map[string]string{
	"systemctl":    "needs systemd and the installed service",
	"journalctl":   "needs systemd's journal of the installed service",
	"bluetoothctl": "needs BlueZ and a Bluetooth adapter",
	"raspi-config": "runs on a Raspberry Pi",
	"i2cdetect":    "needs an I2C bus",
	"apt":          "installs Debian packages (root)",
	"apt-get":      "installs Debian packages (root)",
	"scp":          "copies to a Pi on the network",
	"espeak-ng":    "needs espeak-ng and, to play, an audio device (the speech tests run espeak-ng where it is installed)",
	"aplay":        "needs an audio device",
	"npm":          "needs Node.js and the network",
	"node":         "needs Node.js",
}

// installed are paths of an installed system that a command naming them
// (after the substitutions of Prepare) needs.
var installed = []string{"/etc/", "/var/lib/", "/usr/share/"}

// Classify says what can be checked of c. listed holds the commands that
// cannot run here, by their text; text is the command after Prepare.
func Classify(c Command, text string, listed map[string]string) (Class, string) {
	if why, ok := listed[c.Text]; ok {
		return Listed, why
	}
	ws := Words(text)
	for len(ws) > 0 && assignment.MatchString(ws[0]) {
		ws = ws[1:]
	}
	if len(ws) == 0 {
		return Mention, "no command"
	}
	prog := ws[0]
	switch {
	case prog == "make":
		return MakeTarget, "the targets run long; CI runs them"
	case c.Inline && namesOnly(c.Text):
		return Mention, "a command named in prose"
	case prog == "sudo":
		return System, "needs root on the device"
	case systemPrograms[prog] != "":
		return System, systemPrograms[prog]
	}
	for _, p := range installed {
		if strings.Contains(text, p) {
			return System, "needs the installed system's files (" + p + "...)"
		}
	}
	switch prog {
	case "go":
		return classifyGo(ws)
	case "dispenserd", "adherenced":
		for _, w := range ws[1:] {
			switch strings.TrimLeft(w, "-") {
			case "check-config", "version", "h", "help":
				return Run, ""
			}
		}
		return Daemon, ""
	case "pillctl":
		// The full-size backtest takes about a minute here (make test
		// runs a bounded one); on a small cohort's vitals it takes two
		// seconds and runs.
		if len(ws) > 1 && ws[1] == "backtest" && !slices.Contains(ws, "--vitals-only") {
			return GoCommand, "the full-size backtest takes about a minute; make test runs a bounded one"
		}
	case "export", "git", "openssl":
		return Mention, "a step of the reader's own shell"
	}
	return Run, ""
}

// namePart is a word of a command's name: a program, a subcommand or a
// flag named without a value ("pillctl clinic device add", "dispenserd
// --sim", "go test -fuzz").
var namePart = regexp.MustCompile(`^-{0,2}[a-z][a-z0-9-]*$`)

// namesOnly reports whether an inline command only names a command: at
// most two words, or words that are all names with no argument.
func namesOnly(text string) bool {
	ws := Words(text)
	return len(ws) <= 2 || !slices.ContainsFunc(ws, func(w string) bool { return !namePart.MatchString(w) })
}

func classifyGo(ws []string) (Class, string) {
	if len(ws) < 2 {
		return Mention, "go named in prose"
	}
	switch ws[1] {
	case "test":
		for _, w := range ws[2:] {
			if strings.HasPrefix(w, "./") {
				return GoCommand, "make test runs the tests"
			}
		}
		return Mention, "a go test flag named in prose"
	case "run":
		if len(ws) > 2 {
			switch ws[2] {
			case "./cmd/pillctl":
				return Run, ""
			case "./cmd/pillload", "./cmd/pillstress":
				return GoCommand, "a harness that runs for minutes; make test runs it at CI size"
			}
		}
	}
	return Mention, "a go command named in prose"
}
