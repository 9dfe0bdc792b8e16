package vital

// Kind is a kind of health device the patient pairs with the dispenser, as
// the config's vitals.devices name it. Each kind is declared once, in its
// own file with the quantities it adds; docs/extending.md shows how to add
// one.
type Kind struct {
	// Name is how the config writes the kind ("blood_pressure"). It is
	// stored and sent to the clinic: never rename one.
	Name string
	// Noun is how alerts to caregivers name a device of the kind
	// ("blood pressure monitor"); Title is how reports and the FHIR export
	// name it ("Blood pressure monitor").
	Noun, Title string
	// Profile is the Bluetooth SIG service the device is read through.
	Profile Profile
	// Measures lists the quantities its readings carry.
	Measures []Quantity
	// Exercise marks a device worn while moving (a chest strap): its
	// values are not resting values, so the NEWS2 rule leaves them out.
	Exercise bool
}

// Profile is a Bluetooth SIG health service and the characteristics read
// from it (hw/gatt decodes them).
type Profile struct {
	Name    string
	Service uint16
	// Chars are subscribed to (notifications or indications, as each
	// allows). The first is the measurement and required; the others are
	// optional.
	Chars []uint16
	// Read are characteristics of the service read once on each
	// connection, not subscribed to: a scale's Weight Scale Feature
	// (0x2A9E), whose resolution its weights are rounded to.
	Read []uint16
	// RACP marks a service whose stored records are read through the
	// Record Access Control Point (0x2A52) on every connection.
	RACP bool
}

// Kinds lists every device kind, in the order the config's messages name
// them.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = *k
	}
	return out
}

// KindNames lists the kinds' names, in the order of Kinds.
func KindNames() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.Name
	}
	return out
}

// KindNamed returns the kind the config calls name; ok is false for a name
// no kind has.
func KindNamed(name string) (k Kind, ok bool) {
	for _, k := range kinds {
		if k.Name == name {
			return *k, true
		}
	}
	return Kind{}, false
}
