package hw

// HeaderPin is one pin of the Raspberry Pi 40-pin header.
type HeaderPin struct {
	Number int    // physical pin, 1..40 (odd numbers on the inner row)
	Name   string // periph name for GPIOs ("GPIO17"), else "3V3", "5V" or "GND"
	Alt    string // the function the pin is usually reserved for, if any
}

// GPIO reports whether the pin is a general-purpose I/O.
func (p HeaderPin) GPIO() bool { return len(p.Name) > 4 && p.Name[:4] == "GPIO" }

// Header is the Raspberry Pi 40-pin header (Pi 1 B+ and later, Zero, 2, 3, 4, 5).
var Header = [40]HeaderPin{
	{1, "3V3", ""}, {2, "5V", ""},
	{3, "GPIO2", "I2C1 SDA"}, {4, "5V", ""},
	{5, "GPIO3", "I2C1 SCL"}, {6, "GND", ""},
	{7, "GPIO4", ""}, {8, "GPIO14", "UART TXD"},
	{9, "GND", ""}, {10, "GPIO15", "UART RXD"},
	{11, "GPIO17", ""}, {12, "GPIO18", "PWM0"},
	{13, "GPIO27", ""}, {14, "GND", ""},
	{15, "GPIO22", ""}, {16, "GPIO23", ""},
	{17, "3V3", ""}, {18, "GPIO24", ""},
	{19, "GPIO10", "SPI0 MOSI"}, {20, "GND", ""},
	{21, "GPIO9", "SPI0 MISO"}, {22, "GPIO25", ""},
	{23, "GPIO11", "SPI0 SCLK"}, {24, "GPIO8", "SPI0 CE0"},
	{25, "GND", ""}, {26, "GPIO7", "SPI0 CE1"},
	{27, "GPIO0", "HAT EEPROM ID_SD"}, {28, "GPIO1", "HAT EEPROM ID_SC"},
	{29, "GPIO5", ""}, {30, "GND", ""},
	{31, "GPIO6", ""}, {32, "GPIO12", "PWM0"},
	{33, "GPIO13", "PWM1"}, {34, "GND", ""},
	{35, "GPIO19", "PCM FS"}, {36, "GPIO16", ""},
	{37, "GPIO26", ""}, {38, "GPIO20", "PCM DIN"},
	{39, "GND", ""}, {40, "GPIO21", "PCM DOUT"},
}

// HeaderPinByName returns the header pin with a periph GPIO name.
func HeaderPinByName(name string) (HeaderPin, bool) {
	for _, p := range Header {
		if p.Name == name && p.GPIO() {
			return p, true
		}
	}
	return HeaderPin{}, false
}
