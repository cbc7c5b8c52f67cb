'use strict';
// Node v23.5.0's side of encoding_bench.cpp: the same inputs (the LCG of
// encoding_bench.cpp, step for step), the same work, MB/s of input, each rate
// the mean over at least 0.3 s.   node benchmarks/encoding_bench.js [--csv]
// (benchmarks/encoding_bench.sh runs both programs, interleaved.)
const { StringDecoder } = require('node:string_decoder');

function lcg(seed) {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
}

function randomBytes(n, seed) {
  const g = lcg(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = g() >>> 24;
  return b;
}

function utf8Of(cp, out) {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

// 'ascii': printable ASCII. 'mixed': ~20% ASCII, ~40% Cyrillic (2 bytes),
// ~40% CJK (3 bytes). 'invalid': 'mixed' with 0xFF at byte 517 of every KiB.
function text(kind, n, seed) {
  const g = lcg(seed);
  const out = [];
  if (kind === 'ascii') {
    while (out.length < n) out.push(0x20 + ((g() >>> 24) % 95));
    return Buffer.from(out);
  }
  while (out.length < n) {
    const r = (g() >>> 16) % 10;
    const cp = r < 2 ? 0x20 + ((g() >>> 24) % 95) : r < 6 ? 0x430 + ((g() >>> 24) % 32) : 0x4e00 + ((g() >>> 16) % 2000);
    const c = [];
    utf8Of(cp, c);
    if (out.length + c.length > n) { while (out.length < n) out.push(0x61); break; }
    out.push(...c);
  }
  const b = Buffer.from(out);
  if (kind === 'invalid') for (let i = 517; i < n; i += 1024) b[i] = 0xff;
  return b;
}

let sink = 0;
function rate(bytes, fn) {
  const start = process.hrtime.bigint();
  let iters = 0, ns = 0n;
  do {
    for (let k = 0; k < 4; k++) sink += fn();
    iters += 4;
    ns = process.hrtime.bigint() - start;
  } while (ns < 300000000n);
  return (bytes * iters) / (Number(ns) / 1e3);  // MB/s (10^6 bytes)
}

const csv = process.argv.includes('--csv');
const rows = [];
for (const size of [64 * 1024, 1024 * 1024]) {
  const raw = randomBytes(size, 1);
  // Decode inputs are `size` characters of text.
  const b64 = randomBytes(size / 4 * 3, 2).toString('base64');
  const b64url = randomBytes(size / 4 * 3, 3).toString('base64url');
  const hex = randomBytes(size / 2, 4).toString('hex');
  let mime = '';  // b64 in lines of 76 characters ending "\r\n", as MIME writes it
  for (let i = 0; i < b64.length; i += 76) mime += b64.slice(i, i + 76) + '\r\n';
  const ascii = text('ascii', size, 5), mixed = text('mixed', size, 6), invalid = text('invalid', size, 6);
  const mixedStr = mixed.toString('utf8');
  const add = (name, bytes, fn) => rows.push([name, size, rate(bytes, fn)]);
  add('base64 decode', b64.length, () => Buffer.from(b64, 'base64').length);
  add('base64 decode MIME lines', mime.length, () => Buffer.from(mime, 'base64').length);
  add('base64url decode', b64url.length, () => Buffer.from(b64url, 'base64url').length);
  add('hex decode', hex.length, () => Buffer.from(hex, 'hex').length);
  add('base64 encode', raw.length, () => raw.toString('base64').length);
  add('base64url encode', raw.length, () => raw.toString('base64url').length);
  add('hex encode', raw.length, () => raw.toString('hex').length);
  for (const [k, b] of [['ascii', ascii], ['mixed', mixed], ['invalid', invalid]]) {
    add(`utf8 decode ${k} (StringDecoder)`, b.length, () => new StringDecoder('utf8').write(b).length);
    add(`utf8 decode ${k} (toString)`, b.length, () => b.toString('utf8').length);
  }
  add('utf8 encode mixed', mixed.length, () => Buffer.from(mixedStr, 'utf8').length);
}
for (const [name, size, r] of rows)
  console.log(csv ? `${name},${size},${r.toFixed(0)}` : `${name.padEnd(40)} ${String(size / 1024).padStart(5)} KiB ${r.toFixed(0).padStart(8)} MB/s`);
if (sink === 42) console.log('');
