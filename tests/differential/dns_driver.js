'use strict';
// The Node side of tests/differential/dns_diff_test.cpp: reads the cases (one
// JSON array [hostname, options] per line), runs dns.lookup on each in turn,
// and writes one line per case, in the format the C++ side writes:
//   ok addr/family ...           (nothing after "ok": no address, Node's null)
//   err CODE errno=N syscall=S hostname=H msg=MESSAGE
//   throw CODE msg=MESSAGE       (lookup threw instead of answering)
// prefixed with "SYNC " if the callback ran before lookup returned.
//
//   node --no-deprecation dns_driver.js <cases.jsonl> <answers.txt>
const fs = require('fs');
const dns = require('dns');

const [casesPath, outPath] = process.argv.slice(2);
const cases = fs.readFileSync(casesPath, 'utf8').split('\n').filter((l) => l.length).map((l) => JSON.parse(l));
const out = [];

function format(err, first, family, all) {
  if (err) {
    return `err ${err.code} errno=${err.errno} syscall=${err.syscall} hostname=${err.hostname ?? ''} msg=${err.message}`;
  }
  if (all) return ['ok', ...first.map((a) => `${a.address}/${a.family}`)].join(' ');
  return first === null ? 'ok' : `ok ${first}/${family}`;
}

function run(i) {
  if (i === cases.length) {
    fs.writeFileSync(outPath, out.join('\n') + '\n');
    return;
  }
  const [host, options] = cases[i];
  let returned = false;
  try {
    dns.lookup(host, options, (err, first, family) => {
      out.push((returned ? '' : 'SYNC ') + format(err, first, family, options.all === true));
      setImmediate(run, i + 1);
    });
    returned = true;
  } catch (e) {
    out.push(`throw ${e.code} msg=${e.message}`);
    setImmediate(run, i + 1);
  }
}
run(0);
