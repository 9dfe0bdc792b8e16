package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/cmd/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const example = "../../examples/dispenser.yaml"

// svgPin is what the drawing shows for one header pin.
type svgPin struct {
	name  string // data-name
	use   string // data-use
	text  string // all visible text of the pin's group
	shape string // "rect" for a square pin, "circle" for a round one
	x     float64
}

// parseSVG checks that svg is well-formed XML and returns its pins by number.
func parseSVG(t *testing.T, svg string) map[int]svgPin {
	t.Helper()
	pins := map[int]svgPin{}
	dec := xml.NewDecoder(strings.NewReader(svg))
	cur, depth, inTitle := 0, 0, false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range el.Attr {
				attr[a.Name.Local] = a.Value
			}
			if el.Name.Local == "g" && attr["data-pin"] != "" {
				n, err := strconv.Atoi(attr["data-pin"])
				if err != nil {
					t.Fatalf("bad data-pin %q", attr["data-pin"])
				}
				cur, depth = n, 0
				pins[n] = svgPin{name: attr["data-name"], use: attr["data-use"]}
			}
			if cur != 0 {
				depth++
				p := pins[cur]
				switch el.Name.Local {
				case "title":
					inTitle = true
				case "rect", "circle":
					if p.shape == "" { // the pin comes before its label box
						p.shape = el.Name.Local
						p.x, _ = strconv.ParseFloat(attr["cx"]+attr["x"], 64)
					}
				}
				pins[cur] = p
			}
		case xml.EndElement:
			if cur != 0 {
				inTitle = inTitle && el.Name.Local != "title"
				if depth--; depth == 0 {
					cur = 0
				}
			}
		case xml.CharData:
			if cur != 0 && !inTitle {
				p := pins[cur]
				p.text += string(el) + " "
				pins[cur] = p
			}
		}
	}
	return pins
}

func pinmapOf(t *testing.T, path string) string {
	t.Helper()
	f, _, err := config.Load(path)
	if err != nil || f == nil {
		t.Fatalf("Load(%s) = %v, %v", path, f, err)
	}
	return renderPinmap("dispenser.yaml", wiring(f))
}

func TestPinmapExample(t *testing.T) {
	pins := parseSVG(t, pinmapOf(t, example))
	if len(pins) != 40 {
		t.Fatalf("SVG has %d pins, want 40", len(pins))
	}
	// What examples/dispenser.yaml wires, by physical pin number.
	want := map[int]string{
		1: "3V3 power", 2: "5V power", 6: "GND", 17: "3V3 power", 39: "GND",
		3: "I2C SDA (display, servo driver)", 5: "I2C SCL (display, servo driver)",
		11: "button", 13: "drop sensor", 15: "lid switch", 16: "cup sensor",
		12: "buzzer", 18: "ready LED (green)", 22: "attention LED (amber)", 36: "fault LED (red)",
		29: "compartment 1 IN1", 31: "compartment 1 IN2", 33: "compartment 1 IN3", 35: "compartment 1 IN4",
		38: "compartment 2 STEP", 40: "compartment 2 DIR", 37: "compartment 2 EN",
		7: "unused", 8: "unused (UART TXD)", 27: "unused (HAT EEPROM ID_SD)",
	}
	for n, label := range want {
		if got := pins[n].text; !strings.Contains(got, label) {
			t.Errorf("pin %d shows %q, want %q", n, got, label)
		}
	}
	for n, p := range pins {
		if strings.HasPrefix(p.name, "GPIO") && strings.Contains(p.text, "unused") == (p.use != "") {
			t.Errorf("pin %d: data-use %q but shows %q", n, p.use, p.text)
		}
		if wantShape := map[bool]string{true: "rect", false: "circle"}[n == 1]; p.shape != wantShape {
			t.Errorf("pin %d is drawn as a %s, want %s", n, p.shape, wantShape)
		}
		if n%2 == 0 && p.x <= pins[n-1].x {
			t.Errorf("even pin %d at x=%g is not right of odd pin %d at x=%g", n, p.x, n-1, pins[n-1].x)
		}
	}
	if p := pins[11]; p.name != "GPIO17" || !strings.Contains(p.text, "GPIO17") {
		t.Errorf("pin 11 is named %q and shows %q, want GPIO17", p.name, p.text)
	}
}

func TestPinmapGolden(t *testing.T) {
	const golden = "testdata/pinmap.golden.svg"
	got := pinmapOf(t, example)
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("pinmap of %s differs from %s; if the change is intended, run go test ./cmd/pillctl -run Golden -update", example, golden)
	}
}

func TestWiring(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		pin      int
		wantText string
		notes    []string
	}{
		{"pin used twice", "board:\n  button: {pin: GPIO17}\n  buzzer: {pin: GPIO17}\n",
			11, "USED TWICE: button + buzzer", nil},
		{"pin not on the header", "board:\n  button: {pin: GPIO41}\n  drop: {pin: GPIO27}\n",
			13, "drop sensor", []string{"button: GPIO41 is not a GPIO on the 40-pin header"}},
		{"servo channel", "board:\n  servo_driver: {address: 0x40}\ncompartments:\n  - {id: 2, motor: {kind: servo, channel: 7}}\n",
			3, "I2C SDA (servo driver)", []string{"compartment 2: servo on PCA9685 channel 7"}},
		{"I2C bus 0", "board:\n  i2c_bus: \"0\"\n  display: {kind: ssd1306, address: 0x3c}\n",
			27, "I2C0 SDA (display)", nil},
		{"no I2C device leaves SDA free", "board:\n  button: {pin: GPIO17}\n",
			3, "unused (I2C1 SDA)", nil},
		{"text is escaped", "board:\n  button: {pin: \"<GPIO&17>\"}\n",
			11, "unused", []string{"button: <GPIO&17> is not a GPIO on the 40-pin header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := config.Parse([]byte(tt.yaml))
			if f == nil {
				t.Fatal("Parse returned no file")
			}
			w := wiring(f)
			svg := renderPinmap("test <&> \"file\".yaml", w)
			pins := parseSVG(t, svg)
			if got := pins[tt.pin].text; !strings.Contains(got, tt.wantText) {
				t.Errorf("pin %d shows %q, want %q", tt.pin, got, tt.wantText)
			}
			for _, n := range tt.notes {
				if !strings.Contains(strings.Join(w.notes, "\n"), n) {
					t.Errorf("notes = %q, want one containing %q", w.notes, n)
				}
			}
		})
	}
}

func TestRunPinmap(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		status int
		svg    bool
		errOut string
	}{
		{"example", []string{example}, 0, true, ""},
		{"broken example is drawn anyway", []string{"../../examples/broken.yaml"}, 1, true, "drawn anyway"},
		{"unparsable file", []string{"testdata/not-yaml.yaml"}, 1, false, "not-yaml.yaml:1:"},
		{"missing file", []string{"no-such.yaml"}, 1, false, "no-such.yaml"},
		{"no file", nil, 2, false, "usage: pillctl pinmap"},
		{"help", []string{"-h"}, 0, false, "usage: pillctl pinmap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := dispatch(append([]string{"pinmap"}, tt.args...), &out, &errOut); got != tt.status {
				t.Errorf("pinmap %q = %d, want %d; stderr:\n%s", tt.args, got, tt.status, errOut.String())
			}
			if got := strings.Contains(out.String(), "</svg>"); got != tt.svg {
				t.Errorf("pinmap %q wrote an SVG: %v, want %v", tt.args, got, tt.svg)
			}
			if !strings.Contains(errOut.String(), tt.errOut) {
				t.Errorf("pinmap %q stderr = %q, want it to contain %q", tt.args, errOut.String(), tt.errOut)
			}
		})
	}
}
