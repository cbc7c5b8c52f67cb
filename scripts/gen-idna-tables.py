#!/usr/bin/env python3
"""Generates include/netxx/detail/idna_tables.hpp from the Unicode 15.0 data files.

    apt-get install unicode-data        # Debian 12: 15.0.0, in /usr/share/unicode
    python3 scripts/gen-idna-tables.py [UNICODE_DIR] > include/netxx/detail/idna_tables.hpp

Python 3 standard library only. What the tables must reproduce is ada 2.9.2's
ada::idna::to_ascii(), the IDNA step of Node v23.5.0's dns.lookup(). ada's
mapping and normalisation tables are IDNA / Unicode 15.0.0; its validity
tables (bidi classes, combining marks, viramas, joining types) are older. The
facts below say how each is had from the 15.0 files; every one was checked,
code point by code point over U+0000..U+10FFFF, against ada 2.9.2's tables.

Debian's unicode-data has no IdnaMappingTable.txt, so the UTS #46 table is
derived (UTS #46 section 5 statuses, with UseSTD3ASCIIRules=false and
nontransitional processing, as the URL Standard and ada use them):
  - mapping: NFKC_Casefold (DerivedNormalizationProps.txt), but the three
    other full stops U+3002, U+FF0E, U+FF61 map to '.', and the four
    deviations U+00DF, U+03C2, U+200C, U+200D stay valid;
  - valid: ASCII but A-Z (the STD3 rules are off, so controls, space and
    punctuation are valid), and every assigned code point outside the
    general categories C* and Z* that NFKC_Casefold leaves unchanged, less
    U+1806, U+FFFC, U+FFFD and the Ideographic Description Characters block;
  - disallowed for IDNA2003 stability: U+04C0, U+10A0..U+10C5, U+2132,
    U+2183 (their lower case came after Unicode 3.2) and the
    NormalizationCorrections.txt entries corrected after 3.2.0;
  - ignored: what NFKC_Casefold maps to nothing, when assigned, and either
    (Unicode <= 3.2) in RFC 3454's table B.1 or (later) not Bidi_Control;
    the rest of those are disallowed;
  - mapped: when every code point of the mapping is valid and the mapping
    has no '.' (U+2488 DIGIT ONE FULL STOP and the like are disallowed);
    else disallowed.

ada's validity tables predate Unicode 14.0: the bidi classes (UnicodeData.txt
field 4), the marks a label may not start with (General_Category M*) and the
viramas (Canonical_Combining_Class 9) are the 15.0 values less every code
point whose Age is 14.0 or later (those read as no class, not a mark, not a
virama), and U+1734 keeps its pre-14.0 class NSM. ada's joining types
(CONTEXTJ for U+200C) cover only the spans in ADA_JOINING_SPANS below; there
the types are 15.0's (ArabicShaping.txt).
"""

import sys
from collections import defaultdict

UDIR = (sys.argv[1] if len(sys.argv) > 1 else '/usr/share/unicode').rstrip('/') + '/'
VERSION = '15.0.0'

# RFC 3454 table B.1, "commonly mapped to nothing" (IDNA2003).
RFC3454_B1 = {0x00AD, 0x034F, 0x1806, 0x180B, 0x180C, 0x180D, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF,
              *range(0xFE00, 0xFE10)}
FULL_STOPS = {0x3002, 0xFF0E, 0xFF61}
DEVIATIONS = {0x00DF, 0x03C2, 0x200C, 0x200D}
EXCLUDED = {0x1806, 0xFFFC, 0xFFFD}
CASE_STABILITY = {0x04C0, *range(0x10A0, 0x10C6), 0x2132, 0x2183}
# The code points ada 2.9.2 knows a joining type of (inclusive spans); in them,
# only code points whose 15.0 Joining_Type is L, R or D count.
ADA_JOINING_SPANS = [(0x0620, 0x0766), (0x0850, 0x0855), (0x08A0, 0x08A0), (0x08A2, 0x08AC),
                     (0x1807, 0x1877), (0x1887, 0xA872)]
ADA_BIDI_OVERRIDES = {0x1734: 'NSM'}


def ranges_file(name):
    with open(UDIR + name, encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(';')]
            a, _, b = fields[0].partition('..')
            yield int(a, 16), int(b or a, 16), fields[1:]


def check_version(name):
    with open(UDIR + name, encoding='utf-8') as f:
        head = f.readline()
    if VERSION not in head:
        sys.exit(f'{name}: expected Unicode {VERSION}, the first line says {head.strip()!r}')


def load():
    for name in ('DerivedAge.txt', 'DerivedNormalizationProps.txt', 'PropList.txt', 'ArabicShaping.txt',
                 'Blocks.txt'):
        check_version(name)
    ud = {}
    first = None
    with open(UDIR + 'UnicodeData.txt', encoding='utf-8') as f:
        for line in f:
            fl = line.rstrip('\n').split(';')
            cp = int(fl[0], 16)
            if fl[1].endswith(', First>'):
                first = cp
                continue
            if fl[1].endswith(', Last>'):
                for c in range(first, cp + 1):
                    ud[c] = fl
                continue
            ud[cp] = fl
    nfkc_cf = {}
    for a, b, f in ranges_file('DerivedNormalizationProps.txt'):
        if f[0] == 'NFKC_CF':
            v = tuple(int(x, 16) for x in f[1].split()) if f[1] else ()
            for c in range(a, b + 1):
                nfkc_cf[c] = v
    age = {}
    for a, b, f in ranges_file('DerivedAge.txt'):
        for c in range(a, b + 1):
            age[c] = tuple(int(x) for x in f[0].split('.'))
    bidi_control = set()
    for a, b, f in ranges_file('PropList.txt'):
        if f[0] == 'Bidi_Control':
            bidi_control.update(range(a, b + 1))
    corrections = set()
    with open(UDIR + 'NormalizationCorrections.txt', encoding='utf-8') as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                cp, _, _, ver = line.split(';')
                if tuple(int(x) for x in ver.split('.')) > (3, 2, 0):
                    corrections.add(int(cp, 16))
    idc = set()
    for a, b, f in ranges_file('Blocks.txt'):
        if f[0] == 'Ideographic Description Characters':
            idc.update(range(a, b + 1))
    joining = {}
    for a, b, f in ranges_file('ArabicShaping.txt'):
        for c in range(a, b + 1):
            joining[c] = f[1]
    return ud, nfkc_cf, age, bidi_control, corrections, idc, joining


def derive_mapping(ud, nfkc_cf, age, bidi_control, corrections, idc):
    """Status of every code point: ('valid'|'ignored'|'disallowed', None) or ('mapped', tuple)."""
    def gc(c):
        return ud[c][2] if c in ud else 'Cn'
    never = EXCLUDED | idc | CASE_STABILITY | corrections

    def mapping(c):
        return (0x2E,) if c in FULL_STOPS else nfkc_cf.get(c, (c,))

    def base_valid(c):
        if c < 0x80:
            return not 0x41 <= c <= 0x5A
        if c in DEVIATIONS:
            return True
        if gc(c)[0] in 'CZ' or c in never:
            return False
        return mapping(c) == (c,)

    status = []
    for c in range(0x110000):
        m = mapping(c)
        if c in DEVIATIONS:
            s = ('valid', None)
        elif c in never:
            s = ('disallowed', None)
        elif m == (c,):
            s = ('valid', None) if base_valid(c) else ('disallowed', None)
        elif m == ():
            ignored = gc(c) != 'Cn' and ((age[c] <= (3, 2) and c in RFC3454_B1) or
                                         (age[c] > (3, 2) and c not in bidi_control))
            s = ('ignored', None) if ignored else ('disallowed', None)
        elif all(base_valid(x) for x in m) and (0x2E not in m or c in FULL_STOPS):
            s = ('mapped', m)
        else:
            s = ('disallowed', None)
        status.append(s)
    return status


# Kinds in the low 3 bits of map_data[]; the rest is the kind's value.
K_VALID, K_IGNORED, K_DISALLOWED, K_DELTA, K_SEQ, K_ALT = range(6)
DELTA_BIAS = 1 << 22


def alternating_end(status, c):
    e = c
    while e + 1 < len(status) and status[e] == ('mapped', (e + 1,)) and status[e + 1] == ('valid', None):
        e += 2
    return e


def encode_mapping(status):
    starts, data, pool, pool_at = [], [], [], {}
    c = 0
    n = len(status)
    while c < n:
        kind, m = status[c]
        e = c + 1
        if kind != 'mapped':
            while e < n and status[e] == (kind, None):
                e += 1
            value = {'valid': K_VALID, 'ignored': K_IGNORED, 'disallowed': K_DISALLOWED}[kind]
        elif alternating_end(status, c) - c >= 4:
            # Upper/lower case pairs: even offsets map to the next code point, odd ones are valid.
            e = alternating_end(status, c)
            value = K_ALT
        elif len(m) == 1:
            d = m[0] - c
            while e < n and status[e][0] == 'mapped' and len(status[e][1]) == 1 and status[e][1][0] - e == d:
                e += 1
            value = ((d + DELTA_BIAS) << 3) | K_DELTA
        else:
            while e < n and status[e] == (kind, m):
                e += 1
            if m not in pool_at:
                pool_at[m] = len(pool)
                pool.extend(m)
            assert len(m) < 32 and pool_at[m] < (1 << 20)
            value = (((pool_at[m] << 5) | len(m)) << 3) | K_SEQ
        starts.append(c)
        data.append(value)
        c = e
    return starts, data, pool


def check_mapping(status, starts, data, pool):
    """Decodes the encoded table back and compares it with `status`."""
    import bisect
    for c in range(0x110000):
        i = bisect.bisect_right(starts, c) - 1
        v = data[i]
        k = v & 7
        if k == K_VALID:
            got = ('valid', None)
        elif k == K_IGNORED:
            got = ('ignored', None)
        elif k == K_DISALLOWED:
            got = ('disallowed', None)
        elif k == K_DELTA:
            got = ('mapped', (c + (v >> 3) - DELTA_BIAS,))
        elif k == K_SEQ:
            off, ln = v >> 8, (v >> 3) & 31
            got = ('mapped', tuple(pool[off:off + ln]))
        else:
            got = ('mapped', (c + 1,)) if (c - starts[i]) % 2 == 0 else ('valid', None)
        assert got == status[c], (hex(c), got, status[c])


def nfc_tables(ud):
    canon = {}
    ccc = {}
    for c, f in ud.items():
        if f[3] != '0':
            ccc[c] = int(f[3])
        if f[5] and not f[5].startswith('<'):
            canon[c] = tuple(int(x, 16) for x in f[5].split())

    def full(c):
        return sum((full(x) for x in canon[c]), ()) if c in canon else (c,)

    decomp_cp, decomp_val, decomp_pool = [], [], []
    for c in sorted(canon):
        d = full(c)
        assert len(d) <= 7
        decomp_cp.append(c)
        decomp_val.append((len(decomp_pool) << 3) | len(d))
        decomp_pool.extend(d)
    assert len(decomp_pool) < (1 << 13)
    excl = set()
    for a, b, f in ranges_file('DerivedNormalizationProps.txt'):
        if f[0] == 'Full_Composition_Exclusion':
            excl.update(range(a, b + 1))
    pairs = sorted(((d[0] << 21) | d[1], c) for c, d in canon.items() if len(d) == 2 and c not in excl)
    ccc_runs = runs(lambda c: ccc.get(c, 0))
    return ccc_runs, decomp_cp, decomp_val, decomp_pool, pairs


def runs(value_of):
    """[(start, value)] where the value changes, over U+0000..U+10FFFF."""
    out = []
    for c in range(0x110000):
        v = value_of(c)
        if not out or out[-1][1] != v:
            out.append((c, v))
    return out


BIDI = ['NONE', 'L', 'R', 'AL', 'EN', 'ES', 'ET', 'AN', 'CS', 'NSM', 'BN', 'B', 'S', 'WS', 'ON', 'LRE', 'LRO',
        'RLE', 'RLO', 'PDF', 'LRI', 'RLI', 'FSI', 'PDI']
JOINING = ['NONE', 'L', 'R', 'D']


def validity_tables(ud, age, joining):
    def old(c):  # known to ada's validity tables
        return c in ud and age.get(c, (99,)) < (14, 0)

    def bidi(c):
        if c in ADA_BIDI_OVERRIDES:
            return BIDI.index(ADA_BIDI_OVERRIDES[c])
        return BIDI.index(ud[c][4]) if old(c) else 0

    bidi_runs = runs(bidi)
    marks = runs(lambda c: 1 if old(c) and ud[c][2] in ('Mn', 'Mc', 'Me') else 0)
    viramas = [c for c in sorted(ud) if old(c) and ud[c][3] == '9']

    def jt(c):
        if any(a <= c <= b for a, b in ADA_JOINING_SPANS) and joining.get(c) in ('L', 'R', 'D'):
            return JOINING.index(joining[c])
        return 0

    joining_runs = runs(jt)
    return bidi_runs, marks, viramas, joining_runs


def emit_array(out, ctype, name, values, per_line=12, fmt=hex):
    out.append(f'inline constexpr {ctype} {name}[{len(values)}] = {{')
    for i in range(0, len(values), per_line):
        out.append('    ' + ','.join(fmt(v) for v in values[i:i + per_line]) + ',')
    out.append('};')


def main():
    ud, nfkc_cf, age, bidi_control, corrections, idc, joining = load()
    status = derive_mapping(ud, nfkc_cf, age, bidi_control, corrections, idc)
    starts, data, pool = encode_mapping(status)
    check_mapping(status, starts, data, pool)
    ccc_runs, decomp_cp, decomp_val, decomp_pool, pairs = nfc_tables(ud)
    bidi_runs, marks, viramas, joining_runs = validity_tables(ud, age, joining)

    def h(v):
        return f'0x{v:X}'

    o = []
    o.append('// SPDX-License-Identifier: BSL-1.0')
    o.append('#pragma once')
    o.append('// Generated by scripts/gen-idna-tables.py from the Unicode ' + VERSION + ' data files')
    o.append("// (Debian's unicode-data package). Do not edit: change the script and run it again.")
    o.append('// What each table holds and why it is as it is: the script says.')
    o.append('// clang-format off')
    o.append('')
    o.append('#include <cstdint>')
    o.append('')
    o.append('#include "../config.hpp"')
    o.append('')
    o.append('NETXX_BEGIN_NAMESPACE')
    o.append('namespace detail::idna_tables {')
    o.append('')
    o.append('// UTS #46 mapping: ranges from map_start[i] to map_start[i + 1] - 1, each with')
    o.append('// map_data[i]: low 3 bits the kind, the rest its value. 0 valid, 1 ignored,')
    o.append('// 2 disallowed, 3 mapped to one code point at (value - map_delta_bias) from')
    o.append('// itself, 4 mapped to map_pool[value >> 5] for (value & 31) code points,')
    o.append('// 5 case pairs (even offsets map to the next code point, odd ones valid).')
    o.append(f'inline constexpr std::uint32_t map_delta_bias = {h(DELTA_BIAS)};')
    emit_array(o, 'std::uint32_t', 'map_start', starts, fmt=h)
    emit_array(o, 'std::uint32_t', 'map_data', data, fmt=h)
    emit_array(o, 'std::uint32_t', 'map_pool', pool, fmt=h)
    o.append('')
    o.append('// Canonical_Combining_Class: (first code point << 8) | class, a run to the next.')
    emit_array(o, 'std::uint32_t', 'ccc_runs', [(c << 8) | v for c, v in ccc_runs], fmt=h)
    o.append('// Full canonical decompositions (Hangul apart): decomp_cp[i] decomposes to')
    o.append('// decomp_pool[decomp_val[i] >> 3] for (decomp_val[i] & 7) code points.')
    emit_array(o, 'std::uint32_t', 'decomp_cp', decomp_cp, fmt=h)
    emit_array(o, 'std::uint16_t', 'decomp_val', decomp_val, fmt=str, per_line=16)
    emit_array(o, 'std::uint32_t', 'decomp_pool', decomp_pool, fmt=h)
    o.append('// Primary composites: compose_key[i] = (first << 21) | second, sorted; compose_to[i] the composite.')
    emit_array(o, 'std::uint64_t', 'compose_key', [k for k, _ in pairs], fmt=h, per_line=8)
    emit_array(o, 'std::uint32_t', 'compose_to', [c for _, c in pairs], fmt=h)
    o.append('')
    o.append("// ada's validity tables (pre-14.0 data, see the script).")
    o.append('// Bidi_Class: (first code point << 8) | class, classes in this order:')
    o.append('// ' + ' '.join(BIDI))
    emit_array(o, 'std::uint32_t', 'bidi_runs', [(c << 8) | v for c, v in bidi_runs], fmt=h)
    o.append('// General_Category Mark: (first code point << 1) | is-mark, a run to the next.')
    emit_array(o, 'std::uint32_t', 'mark_runs', [(c << 1) | v for c, v in marks], fmt=h)
    o.append('// Canonical_Combining_Class Virama.')
    emit_array(o, 'std::uint32_t', 'viramas', viramas, fmt=h)
    o.append('// Joining_Type: (first code point << 2) | type (0 none, 1 L, 2 R, 3 D), a run to the next.')
    emit_array(o, 'std::uint32_t', 'joining_runs', [(c << 2) | v for c, v in joining_runs], fmt=h)
    o.append('')
    o.append('}  // namespace detail::idna_tables')
    o.append('NETXX_END_NAMESPACE')
    sys.stdout.write('\n'.join(o) + '\n')


if __name__ == '__main__':
    main()
