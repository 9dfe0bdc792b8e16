// Pillbox simulator panel. Plain JavaScript, no build step, nothing from
// the internet. It follows the dispenser through one server-sent event
// stream (/api/stream): "log" events as the dispenser commits them and
// "world" frames when the simulated hardware changes. It asks for
// /api/status only when one of those says something changed, and acts
// through the same HTTP API that scripts and tests use.
//
// Times are the patient's, in the patient's zone, and medications go by
// their names: both come with /api/status. The stream starts with the last
// day's log before any status has arrived, so the log, the texts and the
// readings are kept as data and drawn only once the status is in, and
// drawn again should the zone or the names change.
'use strict';

const $ = (id) => document.getElementById(id);

const state = {
  frame: null,      // last world frame
  status: null,     // last /api/status
  labels: '',       // the zone and names the lists were drawn with
  log: [],          // log events kept, oldest first, by seq
  sms: null,        // true once /api/sim/sms answered, false if absent
  texts: null,      // the last list of text messages, as the server sent it
  displayVersion: '',
  speechSeq: null,  // the last prompt shown
  instance: '',     // the daemon run the page shows
  readings: [],     // the latest stored readings, oldest first
  readingSeq: 0,    // the last reading seq fetched
  verdicts: new Map(),   // reading seq -> what the alert rules did with it
  vitalAlerts: new Map(), // alert key -> {seq, open, text}, from the log
};

const LOG_MAX = 300;

// What each log kind is called on the page; the code stays visible too.
const KIND = {
  dose_due: 'Dose due', reminder: 'Reminder', dispense_started: 'Dispensing',
  dispensed: 'Dispensed', taken: 'Taken', not_taken: 'Not taken', missed: 'Missed',
  skipped: 'Skipped', jam: 'Jam', uncertain: 'Uncertain dispense',
  lid_opened: 'Lid opened', lid_closed: 'Lid closed', cup_lifted: 'Cup lifted',
  cup_returned: 'Cup put back', button: 'Button pressed', stray_drop: 'Stray pill drop',
  clock_jump: 'Clock jumped', clock_trusted: 'Clock trusted', refill: 'Refilled',
  empty: 'Compartment empty', boot: 'Dispenser started', fault: 'Fault',
  prn_refused: 'As-needed dose refused',
  sms_queued: 'Text queued', sms_sent: 'Text sent', sms_status: 'Text status',
  sms_delivered: 'Text delivered', sms_failed: 'Text failed', sms_canceled: 'Text cancelled',
  sms_opt_out: 'Opted out of texts', sms_opt_in: 'Opted in to texts', call_status: 'Call status',
  alert_ack: 'Alert acknowledged', vital_alert: 'Vital sign alert',
  vital_alert_cleared: 'Vital sign back to normal',
};
const GOOD = new Set(['dispensed', 'taken', 'sms_delivered', 'alert_ack', 'clock_trusted', 'refill']);
const BAD = new Set(['missed', 'not_taken', 'jam', 'uncertain', 'empty', 'fault', 'stray_drop',
  'sms_failed', 'prn_refused', 'vital_alert']);

// Dose states: a word and a symbol, never colour alone.
const DOSE = {
  '': ['Later', '\u25CB', 'later'],
  due: ['Due', '\u25D4', 'warn'],
  reminding: ['Time now', '\u266A', 'warn'],
  dispensing: ['Giving pills', '\u21BB', ''],
  dispensed: ['In the cup', '\u25BD', ''],
  taken: ['Taken', '\u2713', 'ok'],
  not_taken: ['Not taken', '!', 'bad'],
  missed: ['Missed', '\u2717', 'bad'],
  skipped: ['Skipped', '\u2013', 'later'],
  jammed: ['Jammed', '!', 'bad'],
  uncertain: ['Uncertain', '?', 'bad'],
};

const MODE = { off: 'Off', on: 'On', blink: 'Blinking', 'fast-blink': 'Fast blinking' };

// ---- HTTP ----------------------------------------------------------------

// The API lets this page in by its session: a cookie the page's own
// address set (HttpOnly, SameSite=Strict), sent with same-origin requests
// only. Every request but a GET is JSON, even without a body: the API
// refuses any other type.
async function api(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') {
    opt.headers['Content-Type'] = 'application/json';
    if (body !== undefined) opt.body = JSON.stringify(body);
  }
  const res = await fetch(path, opt);
  let data = null;
  try { data = await res.json(); } catch (_) { /* not JSON */ }
  if (res.status === 401) {
    const err = new Error('the session ended: reload the page');
    err.status = res.status;
    throw err;
  }
  if (!res.ok) {
    const err = new Error((data && data.error) || (res.status + ' ' + res.statusText));
    err.status = res.status;
    throw err;
  }
  return data;
}

let noticeTimer = 0;
function notice(msg) {
  const el = $('notice');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { el.hidden = true; }, 8000);
}

// act runs one user action; a failure is said in words, near the top.
async function act(what, method, path, body) {
  try {
    return await api(method, path, body);
  } catch (e) {
    notice('Could not ' + what + ': ' + e.message);
    return null;
  }
}

// ---- time ----------------------------------------------------------------

function zone() {
  return (state.frame && state.frame.timezone) || (state.status && state.status.timezone) || undefined;
}

function fmtTime(t) {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone(), hour: 'numeric', minute: '2-digit' }).format(new Date(t));
}

function fmtDate(t) {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone(), weekday: 'long', day: 'numeric', month: 'long' }).format(new Date(t));
}

// dayKey is the patient's local calendar day of t.
function dayKey(t) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone(), year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(t));
}

// ---- status (doses, names, clock trust) ----------------------------------

let statusBusy = false;
let statusAgain = false;

// refreshStatus fetches /api/status once, however many changes asked for
// it while a fetch was running.
async function refreshStatus() {
  if (statusBusy) { statusAgain = true; return; }
  statusBusy = true;
  try {
    do {
      statusAgain = false;
      state.status = await api('GET', '/api/status');
      renderStatus();
    } while (statusAgain);
  } catch (e) {
    notice('Could not read the dispenser status: ' + e.message);
  } finally {
    statusBusy = false;
  }
}

function medName(id) {
  const st = state.status;
  if (st) {
    for (const c of st.compartments) {
      if (c.medication === id) return c.name || id;
    }
  }
  return id;
}

// labelsOf is what the drawn lists depend on in a status: the zone and
// the medications' names.
function labelsOf(st) {
  return JSON.stringify([st.timezone, st.compartments.map((c) => [c.medication, c.name])]);
}

function renderStatus() {
  const st = state.status;
  const labels = labelsOf(st);
  if (labels !== state.labels) {
    state.labels = labels;
    renderLog();
    renderReadings();
    if (state.texts) renderSMS(state.texts);
    if (state.insights) renderInsights(state.insights);
  }
  const trust = $('clock-trust');
  if (st.clock_trusted) {
    trust.textContent = '\u2713 Clock trusted';
    trust.className = 'badge ok';
  } else {
    trust.textContent = '\u26A0 Clock not trusted yet: no dose is declared missed';
    trust.className = 'badge warn';
  }
  renderClock();
  renderDoses();
  renderCompartments();
}

function renderClock() {
  const t = (state.frame && state.frame.local) || (state.status && state.status.now);
  if (!t) return;
  $('clock-time').textContent = fmtTime(t);
  $('clock-time').setAttribute('datetime', t);
  $('clock-date').textContent = fmtDate(t);
}

function renderDoses() {
  const st = state.status;
  const today = dayKey(st.now);
  const all = [...st.recent, ...st.pending, ...st.next];
  const shown = all.filter((d) => dayKey(d.scheduled) === today || st.pending.includes(d));
  shown.sort((a, b) => new Date(a.scheduled) - new Date(b.scheduled));
  const list = $('doses');
  // The list is redrawn on every change; a keyboard user keeps their place.
  const focused = document.activeElement && document.activeElement.closest('#doses li');
  list.replaceChildren(...shown.map(doseItem));
  if (focused) {
    const again = list.querySelector('li[data-id="' + CSS.escape(focused.dataset.id) + '"] button');
    (again || $('doses-h')).focus();
  }
  $('doses-empty').hidden = shown.length > 0;
  const later = st.next.find((d) => dayKey(d.scheduled) !== today);
  $('doses-next').textContent = later
    ? 'Next after today: ' + medName(later.medication) + ', ' + fmtDate(later.scheduled) + ' at ' + fmtTime(later.scheduled)
    : '';
}

function doseItem(d) {
  const li = document.createElement('li');
  const [word, sym, cls] = DOSE[d.state] || [d.state, '\u2022', ''];
  li.className = 'dose';
  li.dataset.id = d.id;
  li.dataset.state = d.state || 'later';
  const time = document.createElement('time');
  time.dateTime = d.scheduled;
  time.textContent = fmtTime(d.scheduled);
  const med = document.createElement('div');
  med.className = 'med';
  med.textContent = medName(d.medication) + (d.prn ? ' (as needed)' : '');
  const small = document.createElement('small');
  small.textContent = d.pills + (d.pills === 1 ? ' pill' : ' pills') + ', compartment ' + d.compartment;
  med.append(small);
  const side = document.createElement('div');
  side.className = 'dose-side';
  const pill = document.createElement('span');
  pill.className = 'pill ' + cls;
  pill.textContent = sym + ' ' + word;
  side.append(pill);
  if (d.state === 'due' || d.state === 'reminding') {
    const skip = document.createElement('button');
    skip.type = 'button';
    skip.textContent = 'Skip';
    skip.setAttribute('aria-label', 'Skip the ' + fmtTime(d.scheduled) + ' dose of ' + medName(d.medication));
    skip.addEventListener('click', () => act('skip the dose', 'POST', '/api/doses/' + encodeURIComponent(d.id) + '/skip', { by: 'caregiver' }));
    side.append(skip);
  }
  li.append(time, med, side);
  return li;
}

// ---- world frames (the simulated hardware) --------------------------------

function onFrame(f) {
  const prev = state.frame;
  state.frame = f;
  renderDisplay(f.display);
  renderSpeech(f.speech);
  renderLights(f.lights);
  renderPhysical(f);
  renderCompartments();
  renderClock();
  if (!prev || prev.local !== f.local) refreshStatus(); // the clock moved
}

function renderDisplay(d) {
  const img = $('display');
  const none = !d.kind;
  $('display-none').hidden = !none;
  img.hidden = none;
  const lines = (d.lines || []).filter((l) => l.trim() !== '');
  const text = !d.on ? '(screen off)' : lines.length ? lines.map((l) => l.trim()).join(' ') : '(blank)';
  const live = $('display-text');
  if (live.textContent !== text) live.textContent = text;
  img.alt = '';
  if (none || d.version === state.displayVersion) return;
  state.displayVersion = d.version;
  // Load the new picture first, so the old one stays until it is ready.
  const next = new Image();
  const src = '/api/sim/display.png?v=' + encodeURIComponent(d.version);
  next.onload = () => {
    if (state.displayVersion !== d.version) return;
    img.src = src;
    img.dataset.version = d.version;
  };
  next.src = src;
}

// renderSpeech shows what the speaker said and, when asked, plays it: the
// same audio espeak-ng rendered for the dispenser's speaker. A prompt that
// was already over when the page saw it is shown, not played.
function renderSpeech(s) {
  if (!s) return;
  $('voice').hidden = false;
  const live = $('speech-text');
  if (live.textContent !== s.text) live.textContent = s.text;
  live.lang = s.lang;
  if (s.seq === state.speechSeq) return;
  const first = state.speechSeq === null;
  state.speechSeq = s.seq;
  if (first || !s.speaking || !$('speech-play').checked) return;
  new Audio('/api/sim/speech.wav?seq=' + s.seq).play().catch(() => {});
}

function renderLights(lights) {
  for (const name of ['led_ready', 'led_attention', 'led_fault', 'buzzer']) {
    const li = $('light-' + name);
    const mode = lights[name];
    li.classList.toggle('absent', mode === undefined);
    li.classList.toggle('lit', mode === 'on');
    li.classList.toggle('blinking', mode === 'blink' || mode === 'fast-blink');
    li.classList.toggle('fast', mode === 'fast-blink');
    li.dataset.mode = mode || 'absent';
    li.querySelector('.mode').textContent = mode === undefined ? 'Not fitted' : (MODE[mode] || mode);
  }
}

function renderPhysical(f) {
  $('lid-state').textContent = f.lid_open ? 'open' : 'closed';
  $('lid').firstChild.textContent = f.lid_open ? 'Close the lid ' : 'Open the lid ';
  const n = f.pills_in_cup;
  const inCup = n === 0 ? 'empty' : n + (n === 1 ? ' pill' : ' pills') + ' in it';
  $('cup-state').textContent = f.cup_present ? 'in the tray, ' + inCup : 'lifted out';
  $('cup').firstChild.textContent = f.cup_present ? 'Lift the cup ' : 'Put the cup back ';
  const missing = f.missing || [];
  $('lid').disabled = missing.includes('lid');
  $('cup').disabled = missing.includes('cup');
  $('press').classList.toggle('down', f.button_pressed);
  $('button-state').textContent = f.button_pressed ? 'Button down' : 'Button up';
}

function renderCompartments() {
  const f = state.frame;
  if (!f) return;
  const list = $('compartments');
  for (const c of f.compartments) {
    let li = list.querySelector('[data-id="' + c.id + '"]');
    if (!li) {
      li = compartmentItem(c.id);
      list.append(li);
    }
    const st = state.status && state.status.compartments.find((s) => s.id === c.id);
    const name = st ? (st.name || st.medication || 'Empty slot') : '';
    // "Compartment" is a word a narrow screen leaves to screen readers.
    const word = document.createElement('span');
    word.className = 'comp-word';
    word.textContent = 'Compartment ';
    li.querySelector('h3').replaceChildren(word, c.id + (name ? ': ' + name : ''));
    li.querySelector('.left').replaceChildren(strong(c.count), ' of ' + c.capacity + ' left');
    const m = li.querySelector('meter');
    m.max = c.capacity || 1;
    m.low = Math.ceil((c.capacity || 1) * 0.2);
    m.optimum = c.capacity || 1;
    m.value = c.count;
    const note = li.querySelector('.comp-note');
    const notes = [];
    if (c.jams_pending > 0) notes.push('\u26A0 Jam set: the next ' + (c.jams_pending === 1 ? 'turn drops' : c.jams_pending + ' turns drop') + ' nothing');
    if (c.count === 0) notes.push('\u26A0 Empty');
    if (c.spilled > 0) notes.push(c.spilled + ' spilled (no cup)');
    note.textContent = notes.length ? notes.join(' \u00B7 ') : (c.jammed > 0 ? c.jammed + ' jammed turn(s) so far' : 'Running smoothly');
    note.classList.toggle('warn', c.jams_pending > 0 || c.count === 0);
    li.dataset.count = c.count;
  }
}

function strong(v) {
  const s = document.createElement('strong');
  s.textContent = v;
  return s;
}

function compartmentItem(id) {
  const li = document.createElement('li');
  li.className = 'comp';
  li.dataset.id = id;
  const head = document.createElement('div');
  head.className = 'comp-head';
  const h = document.createElement('h3');
  h.id = 'comp-' + id + '-h';
  const left = document.createElement('p');
  left.className = 'left';
  left.id = 'comp-' + id + '-left';
  head.append(h, left);
  const m = document.createElement('meter');
  m.min = 0;
  m.setAttribute('aria-labelledby', h.id + ' ' + left.id);
  const note = document.createElement('p');
  note.className = 'comp-note';
  note.setAttribute('aria-live', 'polite');
  const actions = document.createElement('div');
  actions.className = 'comp-actions';
  const jam = document.createElement('button');
  jam.type = 'button';
  jam.className = 'jam';
  jam.textContent = 'Jam the next pill';
  jam.setAttribute('aria-label', 'Jam the next pill of compartment ' + id);
  jam.addEventListener('click', () => act('inject a jam', 'POST', '/api/sim/jam', { compartment: id, count: 1 }));
  const refill = document.createElement('button');
  refill.type = 'button';
  refill.className = 'refill';
  refill.textContent = 'Refill';
  refill.setAttribute('aria-label', 'Refill compartment ' + id);
  refill.addEventListener('click', () => act('refill', 'POST', '/api/sim/refill', { compartment: id }));
  actions.append(jam, refill);
  const foot = document.createElement('div');
  foot.className = 'comp-foot';
  foot.append(note, actions);
  li.append(head, m, foot);
  return li;
}

// ---- the event log ---------------------------------------------------------

// onLog keeps an event in seq order, whatever order it came in (the
// stream's backlog, a reconnect's catch-up), and draws it once the status
// has said how.
function onLog(ev) {
  const log = state.log;
  let at = log.length;
  while (at > 0 && log[at - 1].seq > ev.seq) at--;
  if (at > 0 && log[at - 1].seq === ev.seq) return;
  log.splice(at, 0, ev);
  const newest = at === log.length - 1;
  if (log.length > LOG_MAX) log.splice(0, log.length - LOG_MAX);
  if (state.labels) {
    const list = $('log');
    if (newest) {
      list.prepend(logItem(ev));
      while (list.children.length > LOG_MAX) list.lastElementChild.remove();
    } else {
      renderLog();
    }
  }
  refreshStatus();
  // Readings log nothing themselves; any event may follow one sent by
  // another client, and an alert surely does.
  if (ev.kind === 'vital_alert' || ev.kind === 'vital_alert_cleared') noteAlert(ev);
  refreshReadings();
  refreshInsights();
  if (ev.kind.startsWith('sms_') || ev.kind === 'call_status' || ev.kind === 'alert_ack' || ev.kind === 'missed') refreshSMS();
}

// renderLog draws the whole log, newest first.
function renderLog() {
  if (!state.labels) return;
  $('log').replaceChildren(...[...state.log].reverse().map(logItem));
}

function logItem(ev) {
  const li = document.createElement('li');
  li.dataset.seq = ev.seq;
  li.dataset.kind = ev.kind;
  if (GOOD.has(ev.kind)) li.className = 'ok';
  if (BAD.has(ev.kind)) li.className = 'warn';
  const time = document.createElement('time');
  time.dateTime = ev.time;
  time.textContent = fmtTime(ev.time);
  const what = document.createElement('span');
  const label = document.createElement('span');
  label.className = 'what';
  label.textContent = (BAD.has(ev.kind) ? '\u26A0 ' : '') + (KIND[ev.kind] || ev.kind);
  const code = document.createElement('span');
  code.className = 'code';
  code.textContent = ev.kind;
  what.append(label, code);
  li.append(time, what);
  const bits = [];
  if (ev.medication) bits.push(medName(ev.medication));
  if (ev.compartment) bits.push('compartment ' + ev.compartment);
  if (ev.detail) bits.push(ev.detail);
  if (bits.length) {
    const detail = document.createElement('span');
    detail.className = 'detail';
    detail.textContent = bits.join(' \u00B7 ');
    li.append(detail);
  }
  return li;
}

// ---- text messages ---------------------------------------------------------

let smsBusy = false;
let smsAgain = false;

async function refreshSMS() {
  if (state.sms === false) return;
  if (smsBusy) { smsAgain = true; return; }
  smsBusy = true;
  try {
    do {
      smsAgain = false;
      const res = await fetch('/api/sim/sms', { credentials: 'same-origin' });
      if (res.status === 404) {
        state.sms = false;
        $('sms-empty').textContent = 'Text messages are not part of this build yet.';
        $('sms-reply').hidden = true;
        return;
      }
      if (!res.ok) throw new Error(res.status + ' ' + res.statusText);
      const data = await res.json();
      state.sms = true;
      renderSMS(Array.isArray(data) ? data : (data.messages || []));
    } while (smsAgain);
  } catch (e) {
    notice('Could not read the text messages: ' + e.message);
  } finally {
    smsBusy = false;
  }
}

function renderSMS(msgs) {
  state.texts = msgs;
  if (!state.labels) return;
  // Newest first; the server lists oldest first.
  msgs = [...msgs].reverse();
  $('sms-empty').hidden = msgs.length > 0;
  $('sms').replaceChildren(...msgs.map(smsItem));
  // Reply as anyone who was texted; the newest recipient first.
  const from = $('sms-from');
  const keep = from.value;
  const numbers = [...new Set(msgs.filter((m) => m.direction !== 'in' && m.to).map((m) => m.to))];
  const names = new Map(msgs.filter((m) => m.name && m.direction !== 'in').map((m) => [m.to, m.name]));
  from.replaceChildren(...numbers.map((n) => {
    const o = document.createElement('option');
    o.value = n;
    o.textContent = names.has(n) ? names.get(n) + ' (' + n + ')' : n;
    return o;
  }));
  if (numbers.includes(keep)) from.value = keep;
  $('sms-reply').hidden = numbers.length === 0;
}

function smsItem(m) {
  const li = document.createElement('li');
  const inbound = m.direction === 'in' || (m.from && !m.to);
  li.className = inbound ? 'in' : 'out';
  if (m.status) li.dataset.status = m.status;
  const meta = document.createElement('p');
  meta.className = 'meta';
  const who = document.createElement('span');
  const number = inbound ? m.from : m.to;
  const named = m.name ? m.name + ' (' + number + ')' : number;
  who.textContent = (inbound ? 'From ' : m.via === 'call' ? 'Call to ' : 'To ') + named;
  meta.append(who);
  if (m.time) {
    const t = document.createElement('time');
    t.dateTime = m.time;
    t.textContent = fmtTime(m.time);
    meta.append(t);
  }
  if (m.status) {
    const s = document.createElement('span');
    const ok = ['delivered', 'read', 'received'].includes(m.status);
    const bad = ['failed', 'undelivered', 'canceled'].includes(m.status);
    s.className = 'pill ' + (ok ? 'ok' : bad ? 'bad' : '');
    s.textContent = (ok ? '\u2713 ' : bad ? '\u2717 ' : '') + m.status;
    meta.append(s);
  }
  if (m.code) {
    const c = document.createElement('span');
    c.textContent = 'code ' + m.code;
    meta.append(c);
  }
  if (m.acked_by) {
    const a = document.createElement('span');
    a.className = 'pill ok acked';
    a.textContent = '\u2713 acknowledged by ' + m.acked_by;
    meta.append(a);
  }
  const body = document.createElement('p');
  body.className = 'body';
  body.textContent = m.body || '';
  li.append(meta, body);
  if (m.via === 'call' && m.sid && ['queued', 'initiated', 'ringing'].includes(m.status)) li.append(callButtons(m.sid));
  return li;
}

// What the callee of a ringing call can do; the answer goes through the
// same handlers as Twilio's call webhooks.
const CALL_ANSWERS = [['pressed1', 'Answer, press 1'], ['no-key', 'Answer, no key'], ['no-answer', 'No answer'],
  ['busy', 'Busy'], ['machine', 'Voicemail']];

function callButtons(sid) {
  const p = document.createElement('p');
  p.className = 'call-answer';
  for (const [answer, label] of CALL_ANSWERS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = label;
    b.dataset.answer = answer;
    b.addEventListener('click', async () => {
      const res = await act('answer the call', 'POST', '/api/sim/call/answer', { sid, answer });
      if (res !== null) refreshSMS();
    });
    p.append(b);
  }
  return p;
}

async function sendReply(e) {
  e.preventDefault();
  const body = $('sms-body').value.trim();
  const from = $('sms-from').value;
  if (!body || !from) return;
  const ok = await act('send the reply', 'POST', '/api/sim/sms/reply', { from, body });
  if (ok !== null) {
    $('sms-body').value = '';
    refreshSMS();
  }
}

// ---- vital signs -------------------------------------------------------------

const READINGS_MAX = 20;

// What the form can send: the fields of each kind, their quantity and the
// units POST /api/sim/reading takes for it (the first is the default).
const VITAL = {
  glucose: [{ q: 'glucose', label: 'Blood glucose', units: ['mg/dL', 'mmol/L'] }],
  bp: [
    { q: 'systolic', label: 'Systolic', units: ['mmHg'] },
    { q: 'diastolic', label: 'Diastolic', units: ['mmHg'] },
  ],
  spo2: [{ q: 'spo2', label: 'Oxygen saturation', units: ['%'] }],
  pulse: [{ q: 'pulse', label: 'Pulse', units: ['bpm'] }],
  temperature: [{ q: 'temperature', label: 'Temperature', units: ['\u00B0C', '\u00B0F'] }],
  weight: [{ q: 'weight', label: 'Weight', units: ['kg', 'lb'] }],
};

const QUANTITY = {
  systolic: 'Systolic pressure', diastolic: 'Diastolic pressure', mean_arterial: 'Mean arterial pressure',
  pulse: 'Pulse', spo2: 'Oxygen saturation', glucose: 'Blood glucose', temperature: 'Temperature',
  weight: 'Weight', bmi: 'Body mass index', height: 'Height', rr_interval: 'Beat-to-beat interval',
  hba1c: 'HbA1c',
};

// The stored (UCUM) units as people write them.
const UNIT = { 'mm[Hg]': 'mmHg', '/min': 'bpm', Cel: '\u00B0C', 'kg/m2': 'kg/m\u00B2' };

// The quantities each alert rule watches (notify/vitals); a rule not
// listed here is taken to watch every quantity.
const RULE_QUANTITIES = {
  glucose_low: ['glucose'], glucose_high: ['glucose'], bp_crisis: ['systolic', 'diastolic'],
  news2: ['spo2', 'pulse', 'systolic', 'temperature'], weight_gain: ['weight'],
  bp_missed_trend: ['systolic'], device_silent: [],
};

function renderVitalFields() {
  const box = $('vital-values');
  box.replaceChildren(...VITAL[$('vital-kind').value].map((f) => {
    const div = document.createElement('div');
    div.className = 'field';
    const label = document.createElement('label');
    label.htmlFor = 'vital-value-' + f.q;
    label.textContent = f.label;
    const row = document.createElement('div');
    row.className = 'with-unit';
    const input = document.createElement('input');
    input.id = 'vital-value-' + f.q;
    input.type = 'number';
    input.step = 'any';
    input.inputMode = 'decimal';
    input.required = true;
    input.autocomplete = 'off';
    input.dataset.quantity = f.q;
    let unit;
    if (f.units.length === 1) {
      unit = document.createElement('span');
      unit.className = 'unit';
      unit.textContent = f.units[0];
      unit.id = 'vital-unit-' + f.q;
      input.setAttribute('aria-describedby', unit.id);
    } else {
      unit = document.createElement('select');
      unit.setAttribute('aria-label', f.label + ' unit');
      unit.replaceChildren(...f.units.map((u) => new Option(u, u)));
    }
    unit.classList.add('vital-unit');
    row.append(input, unit);
    div.append(label, row);
    return div;
  }));
}

function unitText(u) { return UNIT[u] || u; }

function alertRule(key) { return key.split(':')[0]; }

function watches(key, quantity) {
  const qs = RULE_QUANTITIES[alertRule(key)];
  return !qs || qs.includes(quantity);
}

// alertOf reads a vital_alert or vital_alert_cleared event's detail:
// "priority=high key=K text=T" or "key=K reason=R".
function alertOf(ev) {
  const key = (/(?:^| )key=(\S+)/.exec(ev.detail || '') || [])[1];
  if (!key) return null;
  const text = (/ text=(.*)$/.exec(ev.detail) || [])[1] || '';
  return { key, open: ev.kind === 'vital_alert', text };
}

// noteAlert keeps the state of each vital alert; the same event may come
// from the stream and from an injection's answer, in either order.
function noteAlert(ev) {
  const a = alertOf(ev);
  if (!a) return;
  const prev = state.vitalAlerts.get(a.key);
  if (prev && prev.seq >= ev.seq) return;
  state.vitalAlerts.set(a.key, { seq: ev.seq, open: a.open, text: a.open ? a.text : (prev ? prev.text : '') });
}

// verdict says what the alert rules did with a reading the page sent,
// from the answer's alert events: raised an alert on its quantity,
// cleared one, left one open, or none of these.
function verdict(r, alerts) {
  const mine = alerts.map((ev) => ({ ev, a: alertOf(ev) })).filter((x) => x.a && watches(x.a.key, r.quantity));
  const raised = mine.filter((x) => x.a.open);
  if (raised.length) return { flag: 'alert', text: raised.map((x) => x.a.text).join(' ') };
  if (mine.length) return { flag: 'cleared', text: '' };
  const open = [...state.vitalAlerts.entries()].filter(([k, a]) => a.open && watches(k, r.quantity));
  if (open.length) return { flag: 'open', text: open.map(([, a]) => a.text).join(' ') };
  return { flag: 'none', text: '' };
}

// The verdicts live as long as the tab and the daemon run, so a reload
// keeps the marks.
function verdictStore() { return state.instance ? 'pillbox-vitals:' + state.instance : ''; }

function saveVerdicts() {
  const k = verdictStore();
  if (!k) return;
  try { sessionStorage.setItem(k, JSON.stringify([...state.verdicts])); } catch (_) { /* storage off */ }
}

function loadVerdicts() {
  const k = verdictStore();
  if (!k) return;
  try {
    // Another run's marks name readings this one does not have.
    for (const old of Object.keys(sessionStorage)) {
      if (old.startsWith('pillbox-vitals:') && old !== k) sessionStorage.removeItem(old);
    }
    for (const [seq, v] of JSON.parse(sessionStorage.getItem(k) || '[]')) {
      if (!state.verdicts.has(seq)) state.verdicts.set(seq, v);
    }
  } catch (_) { /* storage off or spoilt: no marks */ }
  saveVerdicts();
  renderReadings();
}

function fmtValue(r) {
  if (r.absent) return 'no value (' + r.absent + ')';
  return r.value + ' ' + unitText(r.unit);
}

function readingItem(r) {
  const li = document.createElement('li');
  const v = state.verdicts.get(r.seq);
  li.dataset.seq = r.seq;
  li.dataset.quantity = r.quantity;
  li.dataset.flag = v ? v.flag : '';
  const time = document.createElement('time');
  time.dateTime = r.time;
  time.textContent = fmtTime(r.time);
  const what = document.createElement('div');
  what.className = 'reading-what';
  const name = document.createElement('span');
  name.className = 'reading-name';
  name.textContent = QUANTITY[r.quantity] || r.quantity;
  const value = document.createElement('strong');
  value.className = 'reading-value';
  value.textContent = fmtValue(r);
  what.append(name, ' ', value);
  const notes = [];
  const shown = r.absent ? '' : r.value + ' ' + unitText(r.unit);
  if (r.original && r.original !== shown && !r.absent) notes.push('sent as ' + r.original);
  if (r.device && r.device !== 'sim') notes.push('from ' + r.device);
  if (r.unreliable && r.unreliable.length) notes.push('? the device flagged it: ' + r.unreliable.join(', '));
  if (notes.length) {
    const small = document.createElement('small');
    small.textContent = notes.join(' \u00B7 ');
    what.append(small);
  }
  li.append(time, what);
  if (v && v.flag !== 'none') {
    const mark = document.createElement('span');
    mark.className = 'pill ' + (v.flag === 'cleared' ? 'ok' : 'bad');
    mark.textContent = v.flag === 'alert' ? '\u26A0 Alert: ' + v.text
      : v.flag === 'open' ? '\u26A0 Alert still open: ' + v.text
        : '\u2713 Alert cleared';
    li.append(mark);
    li.className = v.flag === 'cleared' ? 'ok' : 'warn';
  }
  return li;
}

function renderReadings() {
  if (!state.labels) return;
  const newest = [...state.readings].reverse();
  $('readings').replaceChildren(...newest.map(readingItem));
  $('readings-empty').hidden = newest.length > 0;
}

let readingsBusy = false;
let readingsAgain = false;

// refreshReadings fetches the readings stored since the last one shown,
// once however many changes asked for it while a fetch was running.
async function refreshReadings() {
  if (readingsBusy) { readingsAgain = true; return; }
  readingsBusy = true;
  try {
    do {
      readingsAgain = false;
      const page = 1000;
      let got;
      do {
        got = await api('GET', '/api/readings?since=' + state.readingSeq + '&limit=' + page);
        for (const r of got) {
          state.readings.push(r);
          state.readingSeq = Math.max(state.readingSeq, r.seq);
        }
        state.readings.splice(0, Math.max(0, state.readings.length - READINGS_MAX));
      } while (got.length === page);
      renderReadings();
    } while (readingsAgain);
  } catch (e) {
    notice('Could not read the stored readings: ' + e.message);
  } finally {
    readingsBusy = false;
  }
}

async function sendReading(e) {
  e.preventDefault();
  const values = [];
  for (const input of $('vital-values').querySelectorAll('input')) {
    const value = input.valueAsNumber;
    const label = input.labels[0].textContent;
    if (!Number.isFinite(value)) {
      showVitalResult(false, 'Type a number for ' + label.toLowerCase() + '.');
      input.focus();
      return;
    }
    const unit = input.parentElement.querySelector('.vital-unit');
    values.push({ quantity: input.dataset.quantity, value, unit: unit.value || unit.textContent });
  }
  const body = values.length === 1 ? values[0] : { readings: values };
  const send = $('vital-send');
  send.disabled = true;
  try {
    const res = await api('POST', '/api/sim/reading', body);
    res.alerts.forEach(noteAlert);
    for (const r of res.stored) state.verdicts.set(r.seq, verdict(r, res.alerts));
    saveVerdicts();
    showVitalResult(true, resultText(res));
    await refreshReadings();
  } catch (err) {
    showVitalResult(false, '\u2717 Not stored: ' + err.message);
  } finally {
    send.disabled = false;
  }
}

function resultText(res) {
  if (res.stored.length === 0) return 'Nothing new stored: the same reading is already there.';
  const what = res.stored.map((r) => (QUANTITY[r.quantity] || r.quantity) + ' ' + fmtValue(r)).join(', ');
  const said = res.alerts.map((ev) => {
    const a = alertOf(ev);
    return ev.kind === 'vital_alert' ? '\u26A0 Alert raised: ' + (a ? a.text : ev.detail) : '\u2713 An alert cleared.';
  });
  const open = res.stored.some((r) => (state.verdicts.get(r.seq) || {}).flag === 'open');
  if (!said.length) said.push(open ? '\u26A0 No new alert; one on it is still open.' : 'No alert.');
  return 'Stored: ' + what + '. ' + said.join(' ');
}

function showVitalResult(ok, text) {
  const el = $('vital-result');
  el.textContent = text;
  el.className = 'vital-result' + (ok ? '' : ' bad');
}

// ---- controls --------------------------------------------------------------

// The big button: a click is a press; a pointer held a second or more is a
// hold, which the simulator replays for 3 s (long enough for an as-needed
// dose). A keyboard click is always a press.
let pointerDownAt = 0;
function pressButton(e) {
  const held = e && e.detail > 0 && pointerDownAt && performance.now() - pointerDownAt >= 1000;
  pointerDownAt = 0;
  return held ? holdButton() : act('press the button', 'POST', '/api/sim/button', {});
}

function holdButton() {
  return act('hold the button', 'POST', '/api/sim/button', { hold: '3s' });
}

// toggle flips the lid or the cup. The world has moved when the request
// returns, so the page shows it at once rather than at the next frame: a
// second press right after the first must flip it back.
async function toggle(field, what, path, key) {
  if (!state.frame) return;
  const want = !state.frame[field];
  if (await act(what, 'POST', path, { [key]: want }) === null) return;
  state.frame[field] = want;
  renderPhysical(state.frame);
}

function advance(d) {
  return act('move the clock', 'POST', '/api/sim/clock', { advance: d });
}

// toNextDose lets time pass up to the next scheduled dose, so reminders
// fire in order on the way.
async function toNextDose() {
  const st = await act('read the schedule', 'GET', '/api/status');
  if (!st) return;
  state.status = st;
  const now = new Date(st.now);
  const times = [...st.pending, ...st.next].map((d) => new Date(d.scheduled)).filter((t) => t > now);
  if (times.length === 0) {
    notice('No dose is scheduled in the next 24 hours.');
    return;
  }
  const next = new Date(Math.min(...times));
  await advance(Math.round((next - now) / 1000) + 's');
}

function flash(id) {
  const el = $(id);
  el.classList.add('flash');
  setTimeout(() => el.classList.remove('flash'), 250);
}

const KEYS = {
  b: ['press', () => pressButton()],
  h: ['hold', holdButton],
  l: ['lid', () => $('lid').click()],
  c: ['cup', () => $('cup').click()],
  5: ['adv-5m', () => advance('5m')],
  1: ['adv-1h', () => advance('1h')],
  n: ['adv-next', toNextDose],
  v: ['vital-kind', () => $('vital-kind').focus()],
};

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const t = e.target;
  if (t.closest && t.closest('input, textarea, select, [contenteditable]')) return;
  if (e.key === '?') {
    const d = $('keys');
    d.open = !d.open;
    if (d.open) d.querySelector('summary').focus();
    e.preventDefault();
    return;
  }
  const k = KEYS[e.key.toLowerCase()];
  if (!k) return;
  e.preventDefault();
  flash(k[0]);
  k[1]();
}

// ---- live stream -------------------------------------------------------------

function setConn(live) {
  const c = $('conn');
  c.textContent = live ? 'Live' : 'Reconnecting';
  c.className = 'conn ' + (live ? 'live' : 'down');
}

function connect() {
  // EventSource reconnects by itself and sends the last log seq it saw,
  // so the server resends exactly what was missed.
  const es = new EventSource('/api/stream');
  es.addEventListener('open', () => setConn(true));
  es.addEventListener('error', () => setConn(false));
  es.addEventListener('hello', (e) => {
    // Another run of the daemon: its log and world are not the ones shown.
    const { instance } = JSON.parse(e.data);
    if (state.instance && state.instance !== instance) location.reload();
    if (!state.instance) {
      state.instance = instance;
      loadVerdicts();
    }
  });
  es.addEventListener('log', (e) => onLog(JSON.parse(e.data)));
  es.addEventListener('world', (e) => onFrame(JSON.parse(e.data)));
}

// High contrast: the page's toggle, remembered in this browser; until it
// is used, what the system asks for (prefers-contrast: more).
function initContrast() {
  const btn = $('contrast');
  const apply = (more) => {
    document.documentElement.dataset.contrast = more ? 'more' : 'normal';
    btn.setAttribute('aria-pressed', String(more));
  };
  let stored = null;
  try { stored = localStorage.getItem('pillbox-contrast'); } catch (e) { /* storage off */ }
  apply(stored ? stored === 'more' : matchMedia('(prefers-contrast: more)').matches);
  btn.addEventListener('click', () => {
    const more = document.documentElement.dataset.contrast !== 'more';
    try { localStorage.setItem('pillbox-contrast', more ? 'more' : 'normal'); } catch (e) { /* storage off */ }
    apply(more);
  });
}

// ---- what the dispenser learned (GET /api/insights) ------------------------

const RISK_SHOWN = 5;
let insightsBusy = false;
let insightsAgain = false;

// refreshInsights fetches the coming two days' risks once, however many
// events asked for it while a fetch was running.
async function refreshInsights() {
  if (insightsBusy) { insightsAgain = true; return; }
  insightsBusy = true;
  try {
    do {
      insightsAgain = false;
      renderInsights(await api('GET', '/api/insights?days=2'));
    } while (insightsAgain);
  } catch (e) {
    notice('Could not read what the dispenser learned: ' + e.message);
  } finally {
    insightsBusy = false;
  }
}

function renderInsights(rep) {
  // Kept, and drawn once the status says the patient's zone and the
  // medications' names (renderStatus draws it then).
  state.insights = rep;
  if (!state.labels) return;
  const top = [...rep.doses].sort((a, b) => b.risk - a.risk).slice(0, RISK_SHOWN);
  $('risk').replaceChildren(...top.map(riskItem));
  $('risk-empty').hidden = top.length > 0;
}

function riskItem(d) {
  const li = document.createElement('li');
  li.className = 'risk-dose';
  li.dataset.id = d.dose_id;
  const head = document.createElement('div');
  head.className = 'risk-head';
  // The day apart from the <time>, which holds the clock time alone, as
  // every other time on the page.
  const day = document.createElement('span');
  day.textContent = fmtDate(d.scheduled);
  const when = document.createElement('time');
  when.dateTime = d.scheduled;
  when.textContent = fmtTime(d.scheduled);
  const med = document.createElement('span');
  med.textContent = medName(d.medication);
  const pct = document.createElement('span');
  pct.className = 'pill ' + (d.risk >= 0.5 ? 'warn' : 'later');
  pct.textContent = Math.round(d.risk * 100) + '% risk';
  head.append(day, when, med, pct);
  const why = document.createElement('ul');
  why.className = 'risk-why';
  for (const r of d.reasons || []) {
    const item = document.createElement('li');
    item.textContent = r.text;
    why.append(item);
  }
  if (d.first_chime && d.first_chime.shift_minutes !== 0) {
    const item = document.createElement('li');
    item.className = 'chime';
    item.textContent = 'First chime ' + d.first_chime.text;
    why.append(item);
  }
  // The reasons fold away: on a phone five doses' reasons would push the
  // log a screen further down.
  const more = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'Why';
  more.append(summary, why);
  li.append(head, more);
  return li;
}

function init() {
  initContrast();
  // Open on a wide screen; on a phone the list waits for a tap, so the
  // log stays within reach.
  $('risk-list').open = !matchMedia('(max-width: 40rem)').matches;
  $('press').addEventListener('pointerdown', () => { pointerDownAt = performance.now(); });
  $('press').addEventListener('click', pressButton);
  $('hold').addEventListener('click', holdButton);
  $('lid').addEventListener('click', () => toggle('lid_open', 'move the lid', '/api/sim/lid', 'open'));
  $('cup').addEventListener('click', () => toggle('cup_present', 'move the cup', '/api/sim/cup', 'present'));
  $('adv-5m').addEventListener('click', () => advance('5m'));
  $('adv-1h').addEventListener('click', () => advance('1h'));
  $('adv-next').addEventListener('click', toNextDose);
  $('refill-all').addEventListener('click', () => act('refill', 'POST', '/api/sim/refill', {}));
  $('sms-reply').addEventListener('submit', sendReply);
  $('vital-kind').addEventListener('change', renderVitalFields);
  $('vital-form').addEventListener('submit', sendReading);
  renderVitalFields();
  document.addEventListener('keydown', onKey);
  connect();
  refreshStatus();
  refreshSMS();
  refreshReadings();
  refreshInsights();
}

init();
