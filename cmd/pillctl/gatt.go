package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pillbox/pillbox/hw/gatt"
	"github.com/pillbox/pillbox/hw/vital"
)

func init() {
	register(command{name: "gatt", help: "decode a Bluetooth health measurement: gatt decode --char 2A35 --hex \"1E 78 00 ...\"", run: runGatt})
}

// gattOutput is what `pillctl gatt decode` prints.
type gattOutput struct {
	Measurement gatt.Measurement `json:"measurement"`
	Readings    []vital.Reading  `json:"readings"`
}

func runGatt(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "decode" {
		fmt.Fprintln(stderr, "usage: pillctl gatt decode --char UUID --hex BYTES [--device ID] [--received TIME] [--zone ZONE]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return 0
		}
		return 2
	}
	fs := flag.NewFlagSet("pillctl gatt decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	char := fs.String("char", "", "characteristic UUID, e.g. 2A35 (blood pressure), 2A37 (heart rate)")
	hexArg := fs.String("hex", "", `the characteristic value as hex bytes, e.g. "1E 78 00" (spaces, colons and dashes are ignored)`)
	device := fs.String("device", "", "device id to put on the readings")
	receivedArg := fs.String("received", "", "reception time, RFC 3339 (default now); used when the device sent no time stamp")
	zone := fs.String("zone", "UTC", "IANA time zone the device's clock runs in")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pillctl gatt decode --char UUID --hex BYTES [flags]\nDecodes one characteristic value and prints the measurement and its readings as JSON.")
		fs.PrintDefaults()
	}
	if err := parseAnywhere(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || *char == "" || *hexArg == "" {
		fmt.Fprintln(stderr, "pillctl gatt decode: --char and --hex are required, and nothing else")
		fs.Usage()
		return 2
	}
	uuid, err := gatt.ParseUUID(*char)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl gatt decode: --char: %v\n", err)
		return 2
	}
	payload, err := parseHex(*hexArg)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl gatt decode: --hex: %v\n", err)
		return 2
	}
	received := time.Now()
	if *receivedArg != "" {
		if received, err = time.Parse(time.RFC3339, *receivedArg); err != nil {
			fmt.Fprintf(stderr, "pillctl gatt decode: --received: want RFC 3339 such as 2024-03-05T20:00:00Z: %v\n", err)
			return 2
		}
	}
	loc, err := time.LoadLocation(*zone)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl gatt decode: --zone: %v\n", err)
		return 2
	}

	m, err := gatt.Decode(uint16(uuid), payload)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl gatt decode: %v\n", err)
		return 1
	}
	m.Device, m.Received, m.Zone = *device, received.UTC(), loc
	out := gattOutput{Measurement: m, Readings: m.Readings()}
	if out.Readings == nil {
		out.Readings = []vital.Reading{} // print [] rather than null
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "pillctl gatt decode: write: %v\n", err)
		return 1
	}
	return 0
}

// parseHex reads hex bytes written the ways people copy them from tools:
// "1E 78 00", "1e:78:00", "1E-78-00", "0x1E7800".
func parseHex(s string) ([]byte, error) {
	t := strings.NewReplacer(" ", "", ":", "", "-", "", "\t", "", "\n", "").Replace(strings.TrimSpace(s))
	t = strings.TrimPrefix(strings.TrimPrefix(t, "0x"), "0X")
	if len(t)%2 != 0 {
		return nil, fmt.Errorf("%d hex digits is not a whole number of bytes", len(t))
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("%q is not a hex digit", rune(ie))
		}
		return nil, err
	}
	return b, nil
}
