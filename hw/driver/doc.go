// Package driver holds the real hardware drivers of the dispenser, written
// on periph.io/x/conn/v3 so that the same code runs on a Raspberry Pi
// (pins from periph.io/x/host/v3) and in the simulator (gpiotest pins and a
// scripted I2C bus): steppers (ULN2003 half-step, A4988/DRV8825 step/dir),
// the PCA9685 servo controller and servos, the SSD1306 OLED and the HD44780
// LCD behind a PCF8574 backpack, debounced inputs, blinking outputs, and
// no-op stand-ins for optional parts that are missing.
//
// Every exported type implements one of the small interfaces of package hw.
package driver
