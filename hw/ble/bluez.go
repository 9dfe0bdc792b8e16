package ble

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

var (
	_ Transport = (*BlueZ)(nil)
	_ link      = (*bluezLink)(nil)
	_ conn      = (*bluezConn)(nil)
)

// BlueZ is the Linux transport: it talks to bluetoothd over the system
// D-Bus (org.bluez), connects to devices the installer bonded with
// bluetoothctl, and subscribes with StartNotify, which BlueZ turns into
// notifications or indications as each characteristic allows. It is kept
// thin on purpose: what can be tested without a radio (reconnection, the
// record transfer, decoding) lives in session.go and the Assembler.
type BlueZ struct {
	// Adapter is the controller's name; default "hci0".
	Adapter string
	Logger  *slog.Logger
}

// errNotPaired: BlueZ does not know the device, or knows it unbonded.
var errNotPaired = errors.New("ble: device is not paired with this dispenser (pair it once with bluetoothctl, see docs/vitals.md)")

// resolveTimeout bounds the wait for BlueZ to discover a connected
// device's services.
const resolveTimeout = 30 * time.Second

// Run connects to the system bus (retrying while bluetoothd or D-Bus is
// not up yet) and serves the devices until ctx ends.
func (b *BlueZ) Run(ctx context.Context, devices []Device, sink Sink) error {
	log := b.Logger
	if log == nil {
		log = slog.Default()
	}
	adapter := b.Adapter
	if adapter == "" {
		adapter = "hci0"
	}
	for attempt := 0; ; attempt++ {
		bus, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
		if err == nil {
			serve(ctx, &bluezLink{bus: bus, adapter: dbus.ObjectPath("/org/bluez/" + adapter)}, devices, sink, log)
			bus.Close()
			return nil
		}
		wait := backoff(attempt, backoffSlow, rand.Float64())
		log.Error("ble: no system D-Bus; vital-sign devices are not read", "err", err, "retry_in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

type bluezLink struct {
	bus     *dbus.Conn
	adapter dbus.ObjectPath
}

func (l *bluezLink) devicePath(addr string) dbus.ObjectPath {
	return dbus.ObjectPath(string(l.adapter) + "/dev_" + strings.ReplaceAll(addr, ":", "_"))
}

func (l *bluezLink) connect(ctx context.Context, addr string) (conn, error) {
	path := l.devicePath(addr)
	dev := l.bus.Object("org.bluez", path)
	paired, err := dev.GetProperty("org.bluez.Device1.Paired")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNotPaired, err)
	}
	if ok, _ := paired.Value().(bool); !ok {
		return nil, errNotPaired
	}
	// Listen before connecting, so no change is missed in between.
	match := []dbus.MatchOption{
		dbus.WithMatchInterface("org.freedesktop.DBus.Properties"),
		dbus.WithMatchMember("PropertiesChanged"),
		dbus.WithMatchPathNamespace(path),
	}
	if err := l.bus.AddMatchSignalContext(ctx, match...); err != nil {
		return nil, fmt.Errorf("ble: watch %s: %w", addr, err)
	}
	sigs := make(chan *dbus.Signal, 64)
	l.bus.Signal(sigs)
	c := &bluezConn{bus: l.bus, dev: dev, path: path, match: match, sigs: sigs, done: make(chan struct{}),
		chars: map[dbus.ObjectPath]uint16{}}
	ok := false
	defer func() {
		if !ok {
			c.close()
		}
	}()
	// Connect waits for the device to advertise (a bonded LE device is
	// connected when it next shows up) or fails after BlueZ's timeout.
	if err := dev.CallWithContext(ctx, "org.bluez.Device1.Connect", 0).Err; err != nil {
		return nil, fmt.Errorf("ble: connect: %w", err)
	}
	if err := c.waitResolved(ctx); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

type bluezConn struct {
	bus   *dbus.Conn
	dev   dbus.BusObject
	path  dbus.ObjectPath
	match []dbus.MatchOption
	sigs  chan *dbus.Signal

	chars map[dbus.ObjectPath]uint16 // subscribed characteristic objects
	// objs is BlueZ's object tree, read once the services are resolved.
	objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant

	once sync.Once
	out  chan Payload
	done chan struct{} // closed by close: stops the values goroutine
}

// waitResolved waits until BlueZ has discovered the device's services.
func (c *bluezConn) waitResolved(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	for {
		v, err := c.dev.GetProperty("org.bluez.Device1.ServicesResolved")
		if err != nil {
			return fmt.Errorf("ble: services: %w", err)
		}
		if ok, _ := v.Value().(bool); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ble: services not resolved: %w", ctx.Err())
		case <-c.sigs: // any change of the device: look again
		}
	}
}

// managed reads BlueZ's object tree once per connection.
func (c *bluezConn) managed(ctx context.Context) error {
	if c.objs != nil {
		return nil
	}
	if err := c.bus.Object("org.bluez", "/").CallWithContext(ctx,
		"org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Store(&c.objs); err != nil {
		return fmt.Errorf("managed objects: %w", err)
	}
	return nil
}

// servicePath finds the device's service object; "" when it has none.
func (c *bluezConn) servicePath(service uint16) dbus.ObjectPath {
	for p, ifaces := range c.objs {
		if s, ok := ifaces["org.bluez.GattService1"]; ok && p.IsValid() &&
			strings.HasPrefix(string(p), string(c.path)+"/") && variantString(s["UUID"]) == UUID128(service) {
			return p
		}
	}
	return ""
}

// charPaths finds the characteristic objects of a service of the device
// whose UUIDs are among want.
func (c *bluezConn) charPaths(svc dbus.ObjectPath, want map[string]uint16) map[dbus.ObjectPath]uint16 {
	out := map[dbus.ObjectPath]uint16{}
	for p, ifaces := range c.objs {
		ch, ok := ifaces["org.bluez.GattCharacteristic1"]
		if !ok || !strings.HasPrefix(string(p), string(svc)+"/") {
			continue
		}
		if u, ok := want[variantString(ch["UUID"])]; ok {
			out[p] = u
		}
	}
	return out
}

// charPath finds one characteristic of a service of the device.
func (c *bluezConn) charPath(ctx context.Context, service, char uint16) (dbus.ObjectPath, error) {
	if err := c.managed(ctx); err != nil {
		return "", err
	}
	svc := c.servicePath(service)
	if svc == "" {
		return "", errNoChar
	}
	for p := range c.charPaths(svc, map[string]uint16{UUID128(char): char}) {
		return p, nil
	}
	return "", errNoChar
}

func (c *bluezConn) subscribe(ctx context.Context, service uint16, chars []uint16) ([]uint16, error) {
	if err := c.managed(ctx); err != nil {
		return nil, err
	}
	svcPath := c.servicePath(service)
	if svcPath == "" {
		return nil, fmt.Errorf("service %04X not found", service)
	}
	want := map[string]uint16{}
	for _, u := range chars {
		want[UUID128(u)] = u
	}
	var got []uint16
	for p, u := range c.charPaths(svcPath, want) {
		if err := c.bus.Object("org.bluez", p).CallWithContext(ctx, "org.bluez.GattCharacteristic1.StartNotify", 0).Err; err != nil {
			return nil, fmt.Errorf("start notify %04X: %w", u, err)
		}
		c.chars[p] = u
		got = append(got, u)
	}
	return got, nil
}

func (c *bluezConn) read(ctx context.Context, service, char uint16) ([]byte, error) {
	p, err := c.charPath(ctx, service, char)
	if err != nil {
		return nil, err
	}
	var v []byte
	if err := c.bus.Object("org.bluez", p).CallWithContext(ctx, "org.bluez.GattCharacteristic1.ReadValue", 0,
		map[string]dbus.Variant{}).Store(&v); err != nil {
		return nil, fmt.Errorf("ble: read %04X: %w", char, err)
	}
	return v, nil
}

func variantString(v dbus.Variant) string {
	s, _ := v.Value().(string)
	return strings.ToLower(s)
}

func (c *bluezConn) write(ctx context.Context, service, char uint16, value []byte) error {
	p, err := c.charPath(ctx, service, char)
	if err != nil {
		return fmt.Errorf("ble: write %04X: %w", char, err)
	}
	opts := map[string]dbus.Variant{"type": dbus.MakeVariant("request")}
	if err := c.bus.Object("org.bluez", p).CallWithContext(ctx, "org.bluez.GattCharacteristic1.WriteValue", 0, value, opts).Err; err != nil {
		return fmt.Errorf("ble: write %04X: %w", char, err)
	}
	return nil
}

// values turns PropertiesChanged signals into payloads: a new Value of a
// subscribed characteristic, or Connected false on the device (the end).
func (c *bluezConn) values() <-chan Payload {
	c.once.Do(func() {
		c.out = make(chan Payload, 16)
		addr := strings.ReplaceAll(string(c.path[strings.LastIndex(string(c.path), "/dev_")+len("/dev_"):]), "_", ":")
		go func() {
			defer close(c.out)
			for {
				var sig *dbus.Signal
				select {
				case <-c.done:
					return
				case s, ok := <-c.sigs:
					if !ok { // the bus connection ended
						return
					}
					sig = s
				}
				if sig.Name != "org.freedesktop.DBus.Properties.PropertiesChanged" || len(sig.Body) < 2 {
					continue
				}
				iface, _ := sig.Body[0].(string)
				changed, _ := sig.Body[1].(map[string]dbus.Variant)
				switch {
				case iface == "org.bluez.Device1" && sig.Path == c.path:
					if v, ok := changed["Connected"]; ok {
						if up, _ := v.Value().(bool); !up {
							return
						}
					}
				case iface == "org.bluez.GattCharacteristic1":
					u, ok := c.chars[sig.Path]
					v, has := changed["Value"]
					b, isBytes := v.Value().([]byte)
					if !ok || !has || !isBytes {
						continue
					}
					select {
					case c.out <- Payload{Device: addr, Char: u, Data: b}:
					case <-c.done:
						return
					}
				}
			}
		}()
	})
	return c.out
}

func (c *bluezConn) close() error {
	var errs []error
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for p := range c.chars {
		// The device may be gone already; StopNotify then fails harmlessly.
		c.bus.Object("org.bluez", p).CallWithContext(ctx, "org.bluez.GattCharacteristic1.StopNotify", 0)
	}
	// The signal channel is left to the collector, not closed: godbus
	// closes it itself when the bus connection ends.
	c.bus.RemoveSignal(c.sigs)
	errs = append(errs, c.bus.RemoveMatchSignal(c.match...))
	close(c.done)
	return errors.Join(errs...)
}
