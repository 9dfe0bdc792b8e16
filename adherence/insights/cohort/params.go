// Package cohort generates synthetic patients for the insights backtest:
// a year (by default) of scheduled doses with their outcomes, refills,
// power cuts, and vital-sign readings with labelled clinical events, from
// behaviours described in the adherence and heart-failure literature. It
// also writes and reads the cohort as JSON lines (format.go), and writes a
// patient as a dispenser logs it (devicelog.go; GenerateFor puts the
// patient on a real config's schedule).
//
// The generator is written from its sources, not from the model it tests:
// every parameter below says where its value comes from, and those marked
// "assumption" are this project's choices where no source gives a number.
// docs/insights.md tabulates them. It is deterministic: patient i of seed
// s is the same whatever the cohort's size, so a cohort can be generated
// in parallel and a patient found again by its index.
package cohort

// Params are the generator's parameters. Log-odds ratios (logOR) add to a
// dose's log-odds of being missed.
type Params struct {
	// Days is each patient's length of record.
	Days int `json:"days"`

	// MissLogit is the median patient's log-odds of missing a dose of a
	// once-daily regimen on an ordinary day (before the weekly, evening,
	// disruption and other effects), and MissLogitSD its spread between
	// patients. Calibrated, with the holiday and disruption parameters
	// below, against how omissions fall in once-daily electronic
	// monitoring: Vrijens et al., BMJ 2008;336:1114 (4,783 patients):
	// about 10% of doses omitted by patients still engaged, 42% of
	// omissions single days, 43% in runs of three days or more, almost
	// half the patients with a drug holiday a year; Claxton et al. (below)
	// pooled 21% omitted across studies. The cohort lands between the two
	// on the rate and short of Vrijens on the runs (docs/insights.md gives
	// the figures; TestCalibration holds them in bands). The spread is an
	// assumption.
	MissLogit   float64 `json:"miss_logit"`
	MissLogitSD float64 `json:"miss_logit_sd"`
	// TwiceDailyLogOR and ThriceDailyLogOR: more doses a day, more
	// missed. Claxton, Cramer, Pierce, Clin Ther 2001;23:1296 (76
	// electronic-monitoring studies): dose-taking 79% once, 69% twice,
	// 65% three times a day, i.e. odds of missing 0.27, 0.45, 0.54.
	TwiceDailyLogOR  float64 `json:"twice_daily_log_or"`
	ThriceDailyLogOR float64 `json:"thrice_daily_log_or"`

	// SkipperShare is the share of deliberate skippers (intentional
	// non-adherence: they choose which doses to leave out, on a weekly
	// rhythm) against forgetters (unintentional). Lehane & McCarthy, Int J
	// Nurs Stud 2007;44:1468 for the distinction; Voils et al., Patient
	// Prefer Adherence 2014;8:643: forgetting (39.5%) and being busy
	// (23.7%) lead the reasons given, so forgetters are the majority. The
	// 30% share is an assumption.
	SkipperShare float64 `json:"skipper_share"`
	// SkipperPatterns is how many weekday-and-time slots a skipper leaves
	// out, each with a probability drawn in [SkipMin, SkipMax], redrawn
	// every SkipRedrawDays with probability one half. Assumptions.
	SkipperPatterns int     `json:"skipper_patterns"`
	SkipMin         float64 `json:"skip_min"`
	SkipMax         float64 `json:"skip_max"`
	SkipRedrawDays  int     `json:"skip_redraw_days"`
	// SkipperLogOR lowers a skipper's misses outside the chosen slots
	// (organised, not forgetful). Assumption.
	SkipperLogOR float64 `json:"skipper_log_or"`

	// WeekendLogOR: routines break at the weekend. Foster et al. (TAKE-IT),
	// Am J Transplant 2019: odds of perfect taking 0.72 on weekends, i.e.
	// about 1.39 times the odds of a miss, logOR 0.33.
	WeekendLogOR float64 `json:"weekend_log_or"`
	// EveningLogOR: evening doses are missed more than morning ones in
	// twice-daily regimens (a common finding of electronic monitoring,
	// e.g. the reviews above); the size is an assumption.
	EveningLogOR float64 `json:"evening_log_or"`
	// EffectSD spreads each patient's weekend and evening effects around
	// the population's. Assumption.
	EffectSD float64 `json:"effect_sd"`

	// DisruptionRho and DisruptionSD make misses cluster: a day-to-day
	// AR(1) "routine disruption" on the log-odds, which also makes the
	// patient later. Vrijens 2008: 42% of omissions were single days, 43%
	// part of runs of three days or more; Voils 2014: half the variability
	// of non-adherence is within the person. Sizes are assumptions.
	DisruptionRho float64 `json:"disruption_rho"`
	DisruptionSD  float64 `json:"disruption_sd"`
	// DisruptionDelayMin is how many minutes later a disrupted day's
	// doses are taken per unit of disruption. Assumption.
	DisruptionDelayMin float64 `json:"disruption_delay_min"`

	// DeclineShare of patients see their execution worsen gradually, by a
	// logOR in [DeclineMin, DeclineMax] over a year from a random start
	// in the first half of the record. Vrijens 2008: execution worsens
	// and about half stop within a year. Stopping altogether is left out
	// on purpose: a dispenser whose patient has stopped is a case for the
	// caregiver, and its long runs of misses would flatter every model.
	// Share and sizes are assumptions.
	DeclineShare float64 `json:"decline_share"`
	DeclineMin   float64 `json:"decline_min"`
	DeclineMax   float64 `json:"decline_max"`

	// Drug holidays: runs of HolidayMinDays..HolidayMaxDays without
	// doses. Vrijens 2008: almost half the patients had at least one a
	// year, and runs of three days or more held 43% of the omissions.
	// HolidayTakerShare of patients take them at HolidayRate a year, the
	// others at HolidayRateRare; split, rates and lengths are assumptions
	// calibrated on those two figures (forgetting and empty supplies make
	// runs too).
	HolidayTakerShare float64 `json:"holiday_taker_share"`
	HolidayRate       float64 `json:"holiday_rate"`
	HolidayRateRare   float64 `json:"holiday_rate_rare"`
	HolidayMinDays    int     `json:"holiday_min_days"`
	HolidayMaxDays    int     `json:"holiday_max_days"`
	// HolidayTakeProb is the chance a dose is still taken on a holiday.
	HolidayTakeProb float64 `json:"holiday_take_prob"`

	// Travel: the patient is away and the dispenser (and scale, and cuff)
	// stay at home: every dose is missed on the device. Voils 2014:
	// travelling was 19.7% of the reasons for non-adherence. Rate and
	// lengths are assumptions; TravelAfterLogOR is the disruption of the
	// two days after coming back (assumption).
	TravelRate       float64 `json:"travel_rate"`
	TravelMinDays    int     `json:"travel_min_days"`
	TravelMaxDays    int     `json:"travel_max_days"`
	TravelAfterLogOR float64 `json:"travel_after_log_or"`

	// Post-discharge: PostDischargeShare of patients start their record
	// on leaving hospital, and every heart-failure admission ends with
	// one; for the first weeks misses are likelier by PostDischargeLogOR,
	// fading with a time constant of PostDischargeDays. Non-adherence is
	// common early after discharge (e.g. Jackevicius et al., Circulation
	// 2008;117:1028: 24% filled no prescription within a week after a
	// myocardial infarction); the sizes are assumptions.
	PostDischargeShare float64 `json:"post_discharge_share"`
	PostDischargeLogOR float64 `json:"post_discharge_log_or"`
	PostDischargeDays  float64 `json:"post_discharge_days"`

	// Refills: the dispenser holds SupplyDays of pills and is refilled
	// every RefillEvery days; a refill is late with probability (per
	// patient, drawn in [0, 2 x RefillLateProb]) by 1 + a geometric number
	// of days with mean RefillLateMeanDays; doses after the supply ran out
	// are missed. Assumptions, with a 30-day supply as pharmacies fill;
	// kept low because the dispenser warns days before it runs out
	// (escalation.low_supply_days).
	SupplyDays         int     `json:"supply_days"`
	RefillEvery        int     `json:"refill_every"`
	RefillLateProb     float64 `json:"refill_late_prob"`
	RefillLateMeanDays float64 `json:"refill_late_mean_days"`

	// Power cuts: PowerCutRate a year, lasting an exponential time with
	// mean PowerCutMeanHours (at most two days); doses due meanwhile are
	// missed (reconciled when power returns, with a clock jump).
	// Assumptions.
	PowerCutRate      float64 `json:"power_cut_rate"`
	PowerCutMeanHours float64 `json:"power_cut_mean_hours"`

	// Taking time: each slot has a habitual delay after the scheduled time
	// (normal, HabitMeanMin +- HabitSDMin between patients and slots), and
	// each dose a deviation with a per-patient SD in [TimingSDMin,
	// TimingSDMax] minutes. A taking that would fall after the window
	// closed is a miss. Assumptions; habits of this kind are what Walter,
	// Arnet et al., J Pers Med 2012;2:267, propose to personalise intake
	// schedules on.
	HabitMeanMin float64 `json:"habit_mean_min"`
	HabitSDMin   float64 `json:"habit_sd_min"`
	TimingSDMin  float64 `json:"timing_sd_min"`
	TimingSDMax  float64 `json:"timing_sd_max"`

	// Shares of patients with heart failure (daily weights), hypertension
	// (home blood pressure and pulse) and diabetes (glucose meter): a
	// cardiometabolic cohort. Assumptions.
	HFShare  float64 `json:"hf_share"`
	HTNShare float64 `json:"htn_share"`
	DMShare  float64 `json:"dm_share"`
	// MeasureRate is the median patient's chance of measuring on a given
	// day (logit-normal across patients with MeasureLogitSD). Daily
	// weighing in telemonitoring studies lies between about half and
	// nine days in ten; assumption within that range.
	MeasureRate    float64 `json:"measure_rate"`
	MeasureLogitSD float64 `json:"measure_logit_sd"`

	// Weight: day-to-day noise SD per patient log-normal with median
	// WeightNoiseKg (day-to-day fluctuations of 0.5-1 kg are usual;
	// assumption), slow drift (Ornstein-Uhlenbeck, SD WeightDriftKg, time
	// constant WeightDriftDays; assumption), a weekend rise of
	// WeekendWeightPct of body weight seen on Mondays (Orsama et al., Obes
	// Facts 2014;7:36: weight rises over weekends, about 0.35%), and
	// OutlierProb of readings off by 1.5-3 kg (clothes, a meal, someone
	// else on the scale; assumption).
	WeightNoiseKg    float64 `json:"weight_noise_kg"`
	WeightDriftKg    float64 `json:"weight_drift_kg"`
	WeightDriftDays  float64 `json:"weight_drift_days"`
	WeekendWeightPct float64 `json:"weekend_weight_pct"`
	OutlierProb      float64 `json:"outlier_prob"`

	// Heart-failure decompensation: DecompRate events per heart-failure
	// patient-year (hospitalisation rates of 0.3-0.6 a year are typical
	// of telemonitoring trials; assumption in that range). Before the
	// event, weight rises over DecompMinDays..DecompMaxDays, convexly
	// (Chaudhry et al., Circulation 2007;116:1549: gain starting up to a
	// month before admission and diverging in the last week), by a gain
	// log-normal with median DecompGainKg (Chaudhry's categories: 2-5 lb,
	// 5-10 lb, over 10 lb); a share DecompSilentShare gain under 0.5 kg
	// (many admissions come with little or no weight change: Zile et al.,
	// Circulation 2008;118:1433). The patient is then in hospital for
	// 3-10 days and comes back 0.5-2.5 kg lighter (the post-discharge
	// decline of Ledwidge et al., Eur J Heart Fail 2013;15:447), drifting
	// back over a month.
	DecompRate        float64 `json:"decomp_rate"`
	DecompMinDays     int     `json:"decomp_min_days"`
	DecompMaxDays     int     `json:"decomp_max_days"`
	DecompGainKg      float64 `json:"decomp_gain_kg"`
	DecompSilentShare float64 `json:"decomp_silent_share"`

	// Blood pressure: systolic around SystolicMean +- SystolicSD between
	// patients, within-person SD in [BPNoiseMin, BPNoiseMax] mmHg
	// (day-to-day home readings vary by several mmHg; assumption),
	// evening readings EveningDrop lower (assumption; the morning is the
	// higher in most), and hypertensive drift events at DriftRate a year:
	// systolic rises by DriftMin..DriftMax mmHg (diastolic by half) over
	// 2-6 weeks, the labelled day being when it has fully risen; then it
	// is treated and falls back over two weeks. Assumptions.
	SystolicMean float64 `json:"systolic_mean"`
	SystolicSD   float64 `json:"systolic_sd"`
	BPNoiseMin   float64 `json:"bp_noise_min"`
	BPNoiseMax   float64 `json:"bp_noise_max"`
	EveningDrop  float64 `json:"evening_drop"`
	DriftRate    float64 `json:"drift_rate"`
	DriftMin     float64 `json:"drift_min"`
	DriftMax     float64 `json:"drift_max"`

	// Glucose: fasting mean per patient GlucoseMean +- GlucoseSD mg/dL,
	// after dinner GlucoseMealRise higher, coefficient of variation per
	// patient in [GlucoseCVMin, GlucoseCVMax] (the consensus target is
	// 36% or less: Battelino et al., Diabetes Care 2019;42:1593). No
	// labelled events. Assumptions.
	GlucoseMean     float64 `json:"glucose_mean"`
	GlucoseSD       float64 `json:"glucose_sd"`
	GlucoseMealRise float64 `json:"glucose_meal_rise"`
	GlucoseCVMin    float64 `json:"glucose_cv_min"`
	GlucoseCVMax    float64 `json:"glucose_cv_max"`
}

// DefaultParams are the parameters docs/insights.md reports figures for.
var DefaultParams = Params{
	Days: 365,

	MissLogit:        -3.5,
	MissLogitSD:      0.9,
	TwiceDailyLogOR:  0.5,
	ThriceDailyLogOR: 0.7,

	SkipperShare:    0.3,
	SkipperPatterns: 2,
	SkipMin:         0.4,
	SkipMax:         0.9,
	SkipRedrawDays:  90,
	SkipperLogOR:    -0.5,

	WeekendLogOR: 0.33,
	EveningLogOR: 0.4,
	EffectSD:     0.3,

	DisruptionRho:      0.7,
	DisruptionSD:       0.6,
	DisruptionDelayMin: 15,

	DeclineShare: 0.35,
	DeclineMin:   0.5,
	DeclineMax:   2.0,

	HolidayTakerShare: 0.4,
	HolidayRate:       2.5,
	HolidayRateRare:   0.1,
	HolidayMinDays:    3,
	HolidayMaxDays:    21,
	HolidayTakeProb:   0.05,

	TravelRate:       0.8,
	TravelMinDays:    2,
	TravelMaxDays:    14,
	TravelAfterLogOR: 0.5,

	PostDischargeShare: 0.2,
	PostDischargeLogOR: 1.0,
	PostDischargeDays:  10,

	SupplyDays:         30,
	RefillEvery:        28,
	RefillLateProb:     0.1,
	RefillLateMeanDays: 2,

	PowerCutRate:      2,
	PowerCutMeanHours: 4,

	HabitMeanMin: 10,
	HabitSDMin:   20,
	TimingSDMin:  5,
	TimingSDMax:  25,

	HFShare:        0.35,
	HTNShare:       0.6,
	DMShare:        0.3,
	MeasureRate:    0.8,
	MeasureLogitSD: 0.8,

	WeightNoiseKg:    0.55,
	WeightDriftKg:    1.0,
	WeightDriftDays:  60,
	WeekendWeightPct: 0.35,
	OutlierProb:      0.02,

	DecompRate:        0.5,
	DecompMinDays:     7,
	DecompMaxDays:     21,
	DecompGainKg:      2.2,
	DecompSilentShare: 0.2,

	SystolicMean: 136,
	SystolicSD:   14,
	BPNoiseMin:   7,
	BPNoiseMax:   12,
	EveningDrop:  5,
	DriftRate:    0.35,
	DriftMin:     12,
	DriftMax:     30,

	GlucoseMean:     135,
	GlucoseSD:       25,
	GlucoseMealRise: 40,
	GlucoseCVMin:    0.15,
	GlucoseCVMax:    0.35,
}
