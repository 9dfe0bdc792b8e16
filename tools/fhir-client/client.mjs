#!/usr/bin/env node
// Drives adherenced's FHIR API as an EHR would, with fhir-kit-client (an
// existing FHIR REST client) for metadata, reads, searches and paging, and
// fetch for the SMART token request and Bulk Data (fhir-kit-client has
// neither):
//
//   1. signs a client assertion (ES384, node's crypto) and gets a token;
//   2. reads the CapabilityStatement;
//   3. for each resource type, searches it, then searches it with each
//      search parameter metadata lists, with a value taken from a resource
//      the plain search found (each must find that resource), follows the
//      next links to the end and reads one resource by id;
//   4. runs a Group bulk export to completion and reads its files.
//
// Every resource received is written to OUTDIR as collection Bundles for
// the validator; a summary goes to stdout as JSON. Exits 1 on a failure.
//
// usage: client.mjs BASE CLIENT_ID KEY.pem KID GROUP_ID OUTDIR [NOW]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'fhir-kit-client';

const [base, clientId, keyFile, kid, groupId, outDir, nowArg] = process.argv.slice(2);
// NOW (unix seconds) dates the assertion by the server's clock when a
// test runs the server on a simulated one.
const nowSeconds = () => (nowArg ? Number(nowArg) : Math.floor(Date.now() / 1000));

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function assertion(tokenUrl) {
  const now = nowSeconds();
  const header = { alg: 'ES384', typ: 'JWT', kid };
  const claims = { iss: clientId, sub: clientId, aud: tokenUrl, exp: now + 240, iat: now, jti: crypto.randomUUID() };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const key = crypto.createPrivateKey(fs.readFileSync(keyFile));
  const sig = crypto.sign('sha384', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(sig)}`;
}

function fail(msg) {
  throw new Error(msg);
}

// received holds each resource once (by type, id and version): a
// collection Bundle must not hold one full URL twice.
const received = [];
const seen = new Set();
function keep(r) {
  const k = `${r.resourceType}/${r.id}/${(r.meta || {}).versionId}`;
  if (!seen.has(k)) {
    seen.add(k);
    received.push(r);
  }
}

async function token() {
  const conf = await (await fetch(`${base}/.well-known/smart-configuration`)).json();
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: assertion(conf.token_endpoint),
    scope: 'system/*.rs',
  });
  const res = await fetch(conf.token_endpoint, { method: 'POST', body });
  const j = await res.json();
  if (res.status !== 200) fail(`token: ${res.status} ${JSON.stringify(j)}`);
  return j.access_token;
}

// valueFor makes a search value that matches r.
function valueFor(p, r) {
  const coding = (cc) => cc && cc.coding && cc.coding[0];
  switch (p.name) {
    case '_id': return r.id;
    case '_lastUpdated': return `le${r.meta.lastUpdated}`;
    case 'patient': case 'subject': {
      const ref = (r.subject || r.patient || {}).reference;
      return ref;
    }
    case 'status': return r.status;
    case 'intent': return r.intent;
    case 'code': { const c = coding(r.code); return c && `${c.system}|${c.code}`; }
    case 'category': { const c = coding(r.category && r.category[0]); return c && `${c.system}|${c.code}`; }
    case 'identifier': { const i = r.identifier && r.identifier[0]; return i && `${i.system}|${i.value}`; }
    case 'date': case 'effective-time': {
      const t = r.effectiveDateTime || (r.effectivePeriod && r.effectivePeriod.start) || (r.period && r.period.start);
      return t && `ge${t}`;
    }
    default: return undefined;
  }
}

async function all(client, first) {
  const out = [];
  let page = first;
  let pages = 0;
  while (page) {
    pages++;
    for (const e of page.entry || []) if (e.search && e.search.mode === 'match') out.push(e.resource);
    page = await client.nextPage({ bundle: page });
  }
  return { resources: out, pages };
}

async function bulk(access) {
  const auth = { Authorization: `Bearer ${access}` };
  const kick = await fetch(`${base}/fhir/Group/${groupId}/$export`, { headers: { ...auth, Accept: 'application/fhir+json', Prefer: 'respond-async' } });
  if (kick.status !== 202) fail(`bulk kick-off: ${kick.status} ${await kick.text()}`);
  const status = kick.headers.get('content-location');
  for (let i = 0; i < 600; i++) {
    const res = await fetch(status, { headers: auth });
    if (res.status === 200) {
      const manifest = await res.json();
      const counts = {};
      for (const o of manifest.output) {
        const f = await fetch(o.url, { headers: { ...auth, Accept: 'application/fhir+ndjson' } });
        if (f.status !== 200) fail(`bulk file ${o.url}: ${f.status}`);
        const lines = (await f.text()).split('\n').filter((l) => l !== '');
        if (lines.length !== o.count) fail(`bulk ${o.type}: ${lines.length} lines, manifest says ${o.count}`);
        for (const l of lines) keep(JSON.parse(l));
        counts[o.type] = lines.length;
      }
      return counts;
    }
    if (res.status !== 202) fail(`bulk status: ${res.status} ${await res.text()}`);
    const wait = Number(res.headers.get('retry-after') || '1');
    await new Promise((ok) => setTimeout(ok, Math.min(wait, 2) * 1000));
  }
  return fail('bulk export did not finish');
}

async function main() {
  const access = await token();
  const client = new Client({ baseUrl: `${base}/fhir`, bearerToken: access });
  const cs = await client.capabilityStatement();
  if (cs.resourceType !== 'CapabilityStatement') fail('metadata is not a CapabilityStatement');
  keep(cs);
  const summary = { searches: 0, pages: 0, types: {}, bulk: {} };
  for (const rd of cs.rest[0].resource) {
    if (!rd.searchParam) continue; // Group: $export only
    const type = rd.type;
    const first = await client.search({ resourceType: type, searchParams: { _count: 25 } });
    const { resources, pages } = await all(client, first);
    summary.searches++;
    summary.pages += pages;
    if (resources.length !== first.total) fail(`${type}: paging gave ${resources.length}, total ${first.total}`);
    if (resources.length === 0) fail(`${type}: nothing found`);
    resources.forEach(keep);
    const sample = resources[Math.floor(resources.length / 2)];
    const params = {};
    for (const p of rd.searchParam) {
      const v = valueFor(p, sample);
      if (v === undefined) fail(`${type}: no value for ${p.name} from ${sample.id}`);
      const b = await client.search({ resourceType: type, searchParams: { [p.name]: v, _count: 500 } });
      const found = await all(client, b);
      summary.searches++;
      summary.pages += found.pages;
      if (!found.resources.some((r) => r.id === sample.id)) fail(`${type}?${p.name}=${v}: does not find ${sample.id}`);
      params[p.name] = found.resources.length;
    }
    for (const inc of rd.searchInclude || []) {
      const b = await client.search({ resourceType: type, searchParams: { _include: inc, _count: 5 } });
      if (!(b.entry || []).some((e) => e.search.mode === 'include' && e.resource.resourceType === 'Patient')) fail(`${type}?_include=${inc}: no Patient included`);
      summary.searches++;
    }
    const read = await client.read({ resourceType: type, id: sample.id });
    if (read.id !== sample.id) fail(`${type}/${sample.id}: read another resource`);
    summary.types[type] = { total: resources.length, params };
  }
  summary.bulk = await bulk(access);
  fs.mkdirSync(outDir, { recursive: true });
  for (let i = 0; i < received.length; i += 2000) {
    const entry = received.slice(i, i + 2000).map((r) => ({ fullUrl: r.id ? `${base}/fhir/${r.resourceType}/${r.id}` : `${base}/fhir/metadata`, resource: r }));
    fs.writeFileSync(path.join(outDir, `bundle${i / 2000}.json`), JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry }));
  }
  summary.received = received.length;
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((err) => {
  process.stderr.write(`fhir-client: ${err.stack || err}\n`);
  process.exitCode = 1;
});
