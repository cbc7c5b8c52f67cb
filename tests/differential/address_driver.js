'use strict';
// The Node side of tests/differential/address_diff_test.cpp: reads the corpus
// (one JSON array per line), answers each case with node:net itself, and
// writes one JSON array of strings per line, in the order read. One process
// for the whole corpus.
//
//   node address_driver.js <corpus.jsonl> <answers.jsonl>
const fs = require('fs');
const net = require('net');

const [corpusPath, outPath] = process.argv.slice(2);
const lines = fs.readFileSync(corpusPath, 'utf8').split('\n').filter((l) => l.length);

const err = (e) => `err ${e.code} ${e.message}`;
const saText = (s) => `ok ${s.address} ${s.family} ${s.port} ${s.flowlabel}`;

function makeSocketAddress(o) {
  const opts = {};
  if (o.address !== null) opts.address = o.address;
  if (o.family !== null) opts.family = o.family;
  if (o.port !== null) opts.port = o.port;
  if (o.flowlabel !== null) opts.flowlabel = o.flowlabel;
  return new net.SocketAddress(opts);
}

// An address argument: a string, or {sa: {...}} for a net.SocketAddress.
const arg = (a) => (typeof a === 'string' ? a : makeSocketAddress(a.sa));
const withType = (args, type) => (type === null ? args : [...args, type]);

// SocketAddress.parse as its documentation reads: a dotted-quad IPv4 or a
// bracketed IPv6 (no zone), then an optional ':' and decimal port. Built from
// Node's own isIPv4/isIPv6 and SocketAddress, so only the grammar is ours.
function docParse(input) {
  let m = /^\[([^\]]*)\](?::([0-9]*))?$/.exec(input);
  let family = 'ipv6';
  if (m) {
    if (!net.isIPv6(m[1]) || m[1].includes('%')) return undefined;
  } else {
    m = /^([^:]*)(?::([0-9]*))?$/.exec(input);
    if (!m || !net.isIPv4(m[1])) return undefined;
    family = 'ipv4';
  }
  const port = m[2] === undefined || m[2] === '' ? 0 : Number(m[2]);
  if (port > 65535) return undefined;
  return new net.SocketAddress({ address: m[1], port, family });
}

function answer(c) {
  switch (c[0]) {
    case 'isip': {
      const s = c[1];
      return [`${net.isIP(s)} ${net.isIPv4(s)} ${net.isIPv6(s)}`];
    }
    case 'sa': {
      // c[2] is true when Node v23.5.0 is known to abort the process on it
      // (the deviation under test): not run here, the C++ side checks netxx.
      if (c[2]) return ['node-aborts'];
      try { return [saText(makeSocketAddress(c[1]))]; } catch (e) { return [err(e)]; }
    }
    case 'parse': {
      const n = net.SocketAddress.parse(c[1]);
      const d = docParse(c[1]);
      return [n === undefined ? 'undefined' : saText(n), d === undefined ? 'undefined' : saText(d)];
    }
    case 'bl': {
      const bl = new net.BlockList();
      const out = [];
      for (const op of c[1]) {
        try {
          switch (op[0]) {
            case 'addAddress': bl.addAddress(...withType([arg(op[1])], op[2])); out.push('ok'); break;
            case 'addRange': bl.addRange(...withType([arg(op[1]), arg(op[2])], op[3])); out.push('ok'); break;
            case 'addSubnet': bl.addSubnet(...withType([arg(op[1]), op[2]], op[3])); out.push('ok'); break;
            case 'check': out.push(String(bl.check(...withType([arg(op[1])], op[2])))); break;
            default: throw new Error(`unknown op ${op[0]}`);
          }
        } catch (e) {
          out.push(err(e));
        }
      }
      out.push('rules', ...bl.rules);
      out.push(String(net.BlockList.isBlockList(bl)), String(net.BlockList.isBlockList({})));
      return out;
    }
    default:
      throw new Error(`unknown case ${c[0]}`);
  }
}

const out = [];
for (const line of lines) out.push(JSON.stringify(answer(JSON.parse(line))));
fs.writeFileSync(outPath, out.join('\n') + '\n');
