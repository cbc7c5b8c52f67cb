'use strict';
// Node v23.5.0's side of address_bench.cpp: the same rules and queries (the
// LCG of address_workload.hpp, step for step), BlockList.check and isIP per
// second.   node benchmarks/address_bench.js
const net = require('net');

function lcg(seed) {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}
const v4 = (v) => `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
const hex = (v) => v.toString(16).padStart(4, '0');

function rules(n, seed) {
  const g = lcg(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    if (g() % 5 === 0) {
      const a = hex(g() >>> 16), b = hex(g() >>> 16);
      out.push({ kind: 2, a: `2001:db8:${a}:${b}::`, prefix: 48 + (g() % 17), v6: true, av: 0 });
      continue;
    }
    const a = g();
    switch (g() % 3) {
      case 0: out.push({ kind: 0, a: v4(a), v6: false, av: a }); break;
      case 1: { const span = g() % 256; out.push({ kind: 1, a: v4(a), b: v4(a > 0xFFFFFFFF - span ? a : a + span), v6: false, av: a }); break; }
      default: out.push({ kind: 2, a: v4(a), prefix: 20 + (g() % 13), v6: false, av: a }); break;
    }
  }
  return out;
}

function queries(n, seed, rs) {
  const g = lcg(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = g() % 20;
    if (r === 0) { const a = hex(g() >>> 16), b = hex(g() >>> 16); out.push({ text: `2001:db8:${a}:${b}::1`, v6: true }); }
    else if (r === 1) out.push({ text: `::ffff:${v4(g())}`, v6: true });
    else if (r < 10) {
      const near = rs[g() % rs.length];
      if (near.v6) out.push({ text: near.a + '1', v6: true });
      else out.push({ text: v4((near.av + (g() % 64)) >>> 0), v6: false });
    } else out.push({ text: v4(g()), v6: false });
  }
  return out;
}

function isIpInputs(n, seed) {
  const g = lcg(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    switch (g() % 6) {
      case 0: out.push(v4(g())); break;
      case 1: out.push(v4(g()) + '0'); break;
      case 2: { const a = hex(g() >>> 16), b = hex(g() >>> 16); out.push(`2001:db8:${a}::${b}`); break; }
      case 3: { const a = hex(g() >>> 16), b = hex(g() >>> 16), c = hex(g() >>> 16); out.push(`${a}:${b}:0:0:1:2:3:${c}`); break; }
      case 4: out.push(`::ffff:${v4(g())}`); break;
      default: out.push(`fe80::${hex(g() >>> 16)}%eth0`); break;
    }
  }
  return out;
}

function perSecond(f, batch) {
  let done = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  do {
    f();
    done += batch;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  } while (elapsed < 0.3);
  return done / elapsed;
}

let sink = 0;
console.log('benchmark'.padEnd(28), 'rules'.padStart(8), 'node/s'.padStart(16));
for (const n of [10, 1000, 100000]) {
  const bl = new net.BlockList();
  const rs = rules(n, 42);
  const buildStart = process.hrtime.bigint();
  for (const r of rs) {
    const type = r.v6 ? 'ipv6' : 'ipv4';
    if (r.kind === 0) bl.addAddress(r.a, type);
    else if (r.kind === 1) bl.addRange(r.a, r.b, type);
    else bl.addSubnet(r.a, r.prefix, type);
  }
  const buildS = Number(process.hrtime.bigint() - buildStart) / 1e9;
  const qs = queries(4096, 7, rs);
  let hits = 0;
  for (const q of qs) hits += bl.check(q.text, q.v6 ? 'ipv6' : 'ipv4') ? 1 : 0;
  const batch = n >= 100000 ? 16 : n >= 1000 ? 512 : qs.length;
  const rate = perSecond(() => {
    for (let i = 0; i < batch; i++) sink += bl.check(qs[i].text, qs[i].v6 ? 'ipv6' : 'ipv4') ? 1 : 0;
  }, batch);
  console.log('BlockList.check(string)'.padEnd(28), String(n).padStart(8), rate.toFixed(0).padStart(16),
              `  (${hits} of ${qs.length} queries blocked)`);
  console.log('BlockList.add*(string)'.padEnd(28), String(n).padStart(8), (n / buildS).toFixed(0).padStart(16),
              '  (rules added per second, one run)');
}
const inputs = isIpInputs(4096, 3);
const rate = perSecond(() => { for (const s of inputs) sink += net.isIP(s); }, inputs.length);
console.log('isIP'.padEnd(28), '-'.padStart(8), rate.toFixed(0).padStart(16));
if (sink === -1) console.log(sink);
