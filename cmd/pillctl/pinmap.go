package main

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pillbox/pillbox/cmd/internal/config"
	"github.com/pillbox/pillbox/hw"
)

func init() {
	register(command{name: "pinmap", help: "draw which header pin a config file wires to what, as SVG on stdout", run: runPinmap})
}

func runPinmap(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("pinmap", "FILE > pinmap.svg", stderr)
	if status, ok := parseFlags(fs, args, 1); !ok {
		return status
	}
	path := fs.Arg(0)
	f, probs, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, "pillctl pinmap:", err)
		return 1
	}
	if f == nil {
		config.PrintProblems(stderr, path, probs)
		return 1
	}
	// A file with problems is still drawn: seeing two uses on one pin is
	// often the quickest way to understand a wiring mistake.
	if _, err := io.WriteString(stdout, renderPinmap(filepath.Base(path), wiring(f))); err != nil {
		fmt.Fprintln(stderr, "pillctl pinmap: write:", err)
		return 1
	}
	if len(probs) > 0 {
		config.PrintProblems(stderr, path, probs)
		fmt.Fprintf(stderr, "%s: %d problems; the pin map was drawn anyway\n", path, len(probs))
		return 1
	}
	return 0
}

// kind groups pin uses for colour; every kind also has words in the label,
// so the picture reads the same in greyscale.
type kind int

const (
	kindUnused kind = iota
	kindInput
	kindOutput
	kindMotor
	kindI2C
	kindPower3V3
	kindPower5V
	kindGround
	kindConflict
)

var kindStyle = map[kind]struct{ fill, text, name string }{
	kindUnused:   {"#f2f2f2", "#8a8a8a", "unused GPIO"},
	kindInput:    {"#8fd19e", "#000000", "input (button, sensor)"},
	kindOutput:   {"#ffe57f", "#000000", "output (LED, buzzer)"},
	kindMotor:    {"#c9a0dc", "#000000", "motor driver"},
	kindI2C:      {"#90caf9", "#000000", "I2C bus"},
	kindPower3V3: {"#ffb74d", "#000000", "3.3 V power"},
	kindPower5V:  {"#ef9a9a", "#000000", "5 V power"},
	kindGround:   {"#424242", "#ffffff", "ground"},
	kindConflict: {"#d50000", "#ffffff", "used twice: a wiring mistake"},
}

// use is one thing the config wires to a pin.
type use struct {
	label string
	kind  kind
}

// pinWiring is what a config connects to the header.
type pinWiring struct {
	pins map[string][]use // by periph pin name ("GPIO17")
	// notes are connections that are not header pins: servo channels on the
	// PCA9685, pins the header does not have.
	notes []string
}

// wiring lists every use the config makes of a header pin.
func wiring(f *config.File) pinWiring {
	w := pinWiring{pins: map[string][]use{}}
	add := func(pin, label string, k kind) {
		if pin == "" {
			return
		}
		if _, ok := hw.HeaderPinByName(pin); !ok {
			w.notes = append(w.notes, fmt.Sprintf("%s: %s is not a GPIO on the 40-pin header", label, pin))
			return
		}
		w.pins[pin] = append(w.pins[pin], use{label, k})
	}
	b := f.Board

	var i2cUsers []string
	if b.Display != nil {
		i2cUsers = append(i2cUsers, "display")
	}
	if b.ServoDriver != nil {
		i2cUsers = append(i2cUsers, "servo driver")
	}
	if len(i2cUsers) > 0 {
		users := " (" + strings.Join(i2cUsers, ", ") + ")"
		switch b.I2CBus {
		case "", "1":
			add("GPIO2", "I2C SDA"+users, kindI2C)
			add("GPIO3", "I2C SCL"+users, kindI2C)
		case "0":
			add("GPIO0", "I2C0 SDA"+users, kindI2C)
			add("GPIO1", "I2C0 SCL"+users, kindI2C)
		default:
			w.notes = append(w.notes, fmt.Sprintf("I2C bus %q%s: not a bus on the header's I2C pins", b.I2CBus, users))
		}
	}

	add(b.Button.Pin, "button", kindInput)
	add(b.Drop.Pin, "drop sensor", kindInput)
	if b.Lid != nil {
		add(b.Lid.Pin, "lid switch", kindInput)
	}
	if b.Cup != nil {
		add(b.Cup.Pin, "cup sensor", kindInput)
	}
	for _, o := range []struct {
		cfg   *hw.OutputConfig
		label string
	}{
		{b.Buzzer, "buzzer"},
		{b.LEDReady, "ready LED (green)"},
		{b.LEDAttention, "attention LED (amber)"},
		{b.LEDFault, "fault LED (red)"},
	} {
		if o.cfg != nil {
			add(o.cfg.Pin, o.label, kindOutput)
		}
	}

	for _, c := range f.Compartments {
		name := fmt.Sprintf("compartment %d", c.ID)
		k, known := hw.MotorKindNamed(c.Motor.Kind)
		kinds := []hw.MotorKind{k}
		if !known {
			// A mistyped kind: draw every pin the motor names as any kind
			// would wire it; the checker says what is wrong with the kind.
			kinds = hw.MotorKinds()
		}
		for _, k := range kinds {
			for _, p := range k.Pins(c.Motor) {
				add(p.Pin, name+" "+p.Label, kindMotor)
			}
		}
		if known && k.Elsewhere != nil {
			w.notes = append(w.notes, name+": "+k.Elsewhere(c.Motor))
		}
	}
	return w
}

// The drawing's geometry, in SVG user units (pixels).
const (
	svgWidth  = 1000
	rowHeight = 26
	top       = 96 // y of the first row's centre
	leftPinX  = 486
	rightPinX = 514
	labelW    = 300
)

// renderPinmap draws the header as a self-contained SVG: odd pins in the
// left column and even in the right, as on the board seen from above with
// the pins towards you and pin 1 at the top left.
func renderPinmap(title string, w pinWiring) string {
	rows := len(hw.Header) / 2
	legendY := top + rows*rowHeight + 10
	height := legendY + (len(kindStyle)+1)/2*22 + 30 + len(w.notes)*18 + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
`, svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, "<title>Raspberry Pi 40-pin header wiring: %s</title>\n", esc(title))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", svgWidth, height)
	fmt.Fprintf(&b, `<text x="%d" y="30" font-size="18" font-weight="bold" text-anchor="middle">Raspberry Pi 40-pin header: %s</text>`+"\n", svgWidth/2, esc(title))
	fmt.Fprintf(&b, `<text x="%d" y="52" text-anchor="middle" fill="#444444">Physical pin numbers, board seen from above, pin 1 (square) at the top left: odd pins left, even pins right.</text>`+"\n", svgWidth/2)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="4" fill="#1b5e20" stroke="#000000"/>`+"\n",
		leftPinX-12, top-rowHeight/2-2, rightPinX-leftPinX+24, rows*rowHeight+4)

	for _, p := range hw.Header {
		drawPin(&b, p, w.pins[p.Name])
	}

	y := legendY + 16
	fmt.Fprintf(&b, `<text x="40" y="%d" font-weight="bold">Key</text>`+"\n", y)
	for i, k := range []kind{kindInput, kindOutput, kindMotor, kindI2C, kindPower3V3, kindPower5V, kindGround, kindUnused, kindConflict} {
		x, yy := 40+(i%2)*460, y+10+(i/2)*22
		s := kindStyle[k]
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="28" height="16" fill="%s" stroke="#000000"/><text x="%d" y="%d">%s</text>`+"\n",
			x, yy, s.fill, x+36, yy+12, esc(s.name))
	}
	y += 10 + (len(kindStyle)+1)/2*22 + 14
	if len(w.notes) > 0 {
		fmt.Fprintf(&b, `<text x="40" y="%d" font-weight="bold">Not on a header pin</text>`+"\n", y)
		for _, n := range w.notes {
			y += 18
			fmt.Fprintf(&b, `<text x="56" y="%d">%s</text>`+"\n", y, esc(n))
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func drawPin(b *strings.Builder, p hw.HeaderPin, uses []use) {
	row := (p.Number - 1) / 2
	left := p.Number%2 == 1
	cy := top + row*rowHeight

	var label string
	k := kindUnused
	switch {
	case p.Name == "3V3":
		label, k = "3V3 power", kindPower3V3
	case p.Name == "5V":
		label, k = "5V power", kindPower5V
	case p.Name == "GND":
		label, k = "GND", kindGround
	case len(uses) == 1:
		label, k = uses[0].label, uses[0].kind
	case len(uses) > 1:
		labels := make([]string, len(uses))
		for i, u := range uses {
			labels[i] = u.label
		}
		label, k = "USED TWICE: "+strings.Join(labels, " + "), kindConflict
	default:
		label = "unused"
		if p.Alt != "" {
			label += " (" + p.Alt + ")"
		}
	}
	s := kindStyle[k]
	used := make([]string, len(uses))
	for i, u := range uses {
		used[i] = u.label
	}

	fmt.Fprintf(b, `<g id="pin%d" data-pin="%d" data-name="%s" data-use="%s">`, p.Number, p.Number, esc(p.Name), esc(strings.Join(used, "; ")))
	tip := fmt.Sprintf("pin %d, %s: %s", p.Number, p.Name, label)
	fmt.Fprintf(b, "<title>%s</title>", esc(tip))

	cx, numX, nameX, boxX, textX, anchor := rightPinX, rightPinX+18, rightPinX+46, rightPinX+100, rightPinX+106, "start"
	if left {
		cx, numX, nameX, boxX, textX, anchor = leftPinX, leftPinX-18, leftPinX-46, leftPinX-100-labelW, leftPinX-106, "end"
	}
	stroke := `stroke="#000000"`
	if k == kindUnused {
		stroke = `stroke="#8a8a8a" stroke-dasharray="3 2"`
	}
	if p.Number == 1 {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="16" height="16" fill="%s" %s/>`, cx-8, cy-8, s.fill, stroke)
	} else {
		fmt.Fprintf(b, `<circle cx="%d" cy="%d" r="8" fill="%s" %s/>`, cx, cy, s.fill, stroke)
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" font-weight="bold">%d</text>`, numX, cy+4, anchor, p.Number)
	if p.GPIO() {
		nameFill := "#000000"
		if k == kindUnused {
			nameFill = "#8a8a8a"
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" fill="%s">%s</text>`, nameX, cy+4, anchor, nameFill, p.Name)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="20" rx="3" fill="%s" %s/>`, boxX, cy-10, labelW, s.fill, stroke)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" fill="%s">%s</text>`, textX, cy+4, anchor, s.text, esc(fit(label, 46)))
	b.WriteString("</g>\n")
}

// fit shortens s to at most n runes so it stays inside its box; the whole
// label is still in the pin's title.
func fit(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func esc(s string) string {
	var b strings.Builder
	// EscapeText only fails when its writer does; a Builder never does.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
