// Package vitals owns the abnormal-vital rules and the path from a
// vital-sign reading to an alert: the `vitals:` section of the config file
// (the patient's Bluetooth health devices and the thresholds), the rules
// themselves as pure functions with a latch per rule (hypo- and
// hyperglycaemia, confirmed hypertensive crisis, partial NEWS2, heart
// failure weight gain, missed blood-pressure medication with a rising
// trend, a device gone silent), and the Monitor that stores readings, runs
// the rules and appends one vital_alert or vital_alert_cleared event per
// alert change. It sends nothing itself: the notifier turns those events
// into SMS like any other alert. It owns no radio either; hw/ble hands it
// readings.
package vitals
