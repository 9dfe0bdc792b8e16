package vital

// The registries: every device kind and every quantity, each declared in
// its kind's file (bloodpressure.go, glucose.go, ...). These lists only
// order them, as messages and reports show them; a new kind's file adds
// its kind and its new quantities here.
var (
	kinds = []*Kind{
		&KindBloodPressure, &KindGlucose, &KindThermometer,
		&KindPulseOximeter, &KindScale, &KindHeartRate,
	}
	quantities = []*QuantitySpec{
		&systolic, &diastolic, &meanArterial, &pulse, &spo2, &temperature,
		&glucose, &weight, &bmi, &height, &hba1c, &rrInterval,
	}
)
