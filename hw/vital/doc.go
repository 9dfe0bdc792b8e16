// Package vital is the vocabulary of vital-sign readings that every layer
// shares: the quantities a health device measures, each in one canonical
// UCUM unit with its physiological limits, the Reading with its flags
// (absent, unreliable, device time, the data-quality findings), and the
// Bluetooth address form devices are known by. It sits below the packages
// that make readings (hw/gatt, hw/ble) and those that check, store, judge
// and report them (hw/vital/quality, adherence, notify/vitals), so that
// none imports upward.
package vital
