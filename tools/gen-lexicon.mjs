#!/usr/bin/env node
// gen-lexicon.mjs - turn the pinned npm packages named in tools/lexicon.deps
// into src/analyzer/generated/lexicon_data.c (see src/analyzer/lexicon_internal.h
// for the tables it defines).
//
//   node tools/gen-lexicon.mjs --deps tools/lexicon.deps --cache DIR --out FILE
//
// A package missing from the cache is fetched with `npm pack`; every tarball
// is checked against its pinned sha512 before anything is read from it.
// Only node's standard library is used.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import zlib from 'node:zlib';

function die(msg) {
	process.stderr.write(`gen-lexicon: error: ${msg}\n`);
	process.exit(1);
}

const args = {};
for (let i = 2; i < process.argv.length; i += 2)
	args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
for (const k of ['deps', 'cache', 'out'])
	if (!args[k]) die(`missing --${k}`);

function readDeps(file) {
	const deps = {};
	for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
		const line = raw.replace(/#.*/, '').trim();
		if (!line) continue;
		const [name, version, integrity, member] = line.split(/\s+/);
		if (!member || !/^sha512-[A-Za-z0-9+/]+=*$/.test(integrity))
			die(`${file}: malformed line: ${raw}`);
		deps[name] = { name, version, integrity, member };
	}
	return deps;
}

// Fetch (when absent) and verify one tarball; returns its bytes.
function obtain(dep, cache) {
	const tgz = path.join(cache, `${dep.name}-${dep.version}.tgz`);
	if (!fs.existsSync(tgz)) {
		fs.mkdirSync(cache, { recursive: true });
		process.stderr.write(`gen-lexicon: fetching ${dep.name}@${dep.version} with npm into ${cache}\n`);
		const r = spawnSync('npm', ['pack', `${dep.name}@${dep.version}`, '--pack-destination', cache,
			'--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
		if (r.error || r.status !== 0 || !fs.existsSync(tgz))
			die(`could not download ${dep.name}@${dep.version} (npm pack ${r.error ? r.error.message : 'exit ' + r.status}).\n` +
				`  The build needs it once; afterwards it works offline from the cache.\n` +
				`  Fix: make the npm registry reachable and run make again, or copy ${dep.name}-${dep.version}.tgz\n` +
				`  (from \`npm pack ${dep.name}@${dep.version}\` on another machine) into ${cache}\n` +
				`  (or point SP_CACHE_DIR=... at a folder that has it).`);
	}
	const bytes = fs.readFileSync(tgz);
	const got = 'sha512-' + createHash('sha512').update(bytes).digest('base64');
	if (got !== dep.integrity)
		die(`${tgz} is corrupt or not the pinned package:\n  expected ${dep.integrity}\n  got      ${got}\n` +
			`  Fix: delete that file and run make again to download it afresh. If the fresh download\n` +
			`  fails the same way, the registry serves different content: do not change the pin\n` +
			`  in tools/lexicon.deps without reviewing the package.`);
	return bytes;
}

// Minimal ustar reader: return the contents of one member of a .tgz.
function tarMember(tgzBytes, member, label) {
	const tar = zlib.gunzipSync(tgzBytes);
	let off = 0;
	while (off + 512 <= tar.length) {
		const hdr = tar.subarray(off, off + 512);
		if (hdr.every((b) => b === 0)) break;
		const str = (a, b) => hdr.subarray(a, b).toString('latin1').replace(/\0.*$/s, '');
		let name = str(0, 100);
		const prefix = str(345, 500);
		if (prefix) name = prefix + '/' + name;
		const size = parseInt(str(124, 136).trim() || '0', 8);
		const type = str(156, 157);
		if (name === member && (type === '0' || type === '' ))
			return tar.subarray(off + 512, off + 512 + size).toString('utf8');
		off += 512 + Math.ceil(size / 512) * 512;
	}
	die(`${label}: ${member} not found in the package`);
}

// Python's str.strip() with no argument (Unicode white space; unlike JS
// trim() it leaves U+FEFF alone).
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const pyStrip = (s) => s.replace(new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'gu'), '');
const hasPySpace = (s) => new RegExp(`[${PY_SPACE}]`, 'u').test(s);

// The word lexicon, read as vaderSentiment reads its file: each non-empty
// line stripped, split on TAB, first two fields; a later line wins.
function parseLexicon(text) {
	const lex = new Map();
	let lines = 0, dupes = 0;
	for (const line of text.replace(/\n+$/, '').split('\n')) {
		if (!line) continue;
		lines++;
		const f = pyStrip(line).split('\t');
		if (f.length < 2 || !/^-?[0-9]+(\.[0-9]+)?$/.test(f[1]))
			die(`vader_lexicon.txt: malformed line: ${JSON.stringify(line)}`);
		if (lex.has(f[0])) { dupes++; lex.delete(f[0]); }
		lex.set(f[0], f[1]);
	}
	// Look-ups use lower-cased single tokens, so keys with capitals or white
	// space can never match: leave them out of the table.
	const out = [];
	let dead = 0;
	for (const [k, v] of lex) {
		if (k.toLowerCase() !== k || hasPySpace(k)) { dead++; continue; }
		out.push([k, v]);
	}
	out.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
	return { words: out, lines, dupes, dead };
}

// The emoji map as data/README.md defines it: records with emoji and
// description from components.skin-tone, components.hair-style, emojis and
// their variations; U+FE0F removed; single code points only.
function parseEmoji(text) {
	const m = /^\s*export\s+default\s+/.exec(text);
	if (!m) die('unicode-emoji.js: expected "export default {...}"');
	// Evaluate the object literal in an empty context: data only, no require.
	const data = vm.runInNewContext('(' + text.slice(m[0].length).replace(/;\s*$/, '') + ')',
		Object.create(null), { timeout: 10000 });
	const recs = [];
	const comps = data.components || {};
	for (const key of ['skin-tone', 'hair-style'])
		for (const r of comps[key] || []) recs.push(r);
	for (const e of data.emojis || []) {
		recs.push(e);
		for (const v of e.variations || []) recs.push(v);
	}
	const map = new Map();
	for (const r of recs) {
		if (typeof r.emoji !== 'string' || typeof r.description !== 'string') continue;
		const cps = [...r.emoji.replaceAll('\uFE0F', '')];
		if (cps.length !== 1) continue;
		const cp = cps[0].codePointAt(0);
		if (map.has(cp) && map.get(cp) !== r.description)
			die(`unicode-emoji.js: U+${cp.toString(16)} has two descriptions`);
		map.set(cp, r.description);
	}
	if (map.size < 1000) die(`unicode-emoji.js: only ${map.size} single-code-point emoji found`);
	// The scorer skips the emoji step for ASCII text (sentiment.c): that is
	// only right while no ASCII code point is mapped.
	for (const cp of map.keys())
		if (cp < 0x80) die(`unicode-emoji.js: ASCII code point U+${cp.toString(16)} is mapped; sentiment.c assumes none is`);
	return [...map.entries()].sort((a, b) => a[0] - b[0]);
}

// C string literal, ASCII only (octal escapes cannot swallow a next digit
// the way \x can, as long as we always write three digits).
function cstr(buf) {
	let s = '"';
	for (const b of buf) {
		if (b === 0x22 || b === 0x5c) s += '\\' + String.fromCharCode(b);
		else if (b >= 0x20 && b < 0x7f && b !== 0x3f) s += String.fromCharCode(b);
		else s += '\\' + b.toString(8).padStart(3, '0');	/* '?' too: no trigraphs */
	}
	return s + '"';
}

function pool(strings) {
	const offs = [];
	const parts = [];
	let off = 0;
	for (const s of strings) {
		const b = Buffer.from(s, 'utf8');
		offs.push(off);
		parts.push(b, Buffer.from([0]));
		off += b.length + 1;
	}
	return { offs, buf: Buffer.concat(parts) };
}

function chunks(buf, width) {
	const out = [];
	for (let i = 0; i < buf.length; i += width) out.push('\t' + cstr(buf.subarray(i, i + width)));
	return out.join('\n');
}

const deps = readDeps(args.deps);
for (const n of ['vader-sentiment', 'unicode-emoji'])
	if (!deps[n]) die(`${args.deps} does not pin ${n}`);
const lexText = tarMember(obtain(deps['vader-sentiment'], args.cache), deps['vader-sentiment'].member, 'vader-sentiment');
const emoText = tarMember(obtain(deps['unicode-emoji'], args.cache), deps['unicode-emoji'].member, 'unicode-emoji');

const lex = parseLexicon(lexText);
const emoji = parseEmoji(emoText);
const wp = pool(lex.words.map((w) => w[0]));
const ep = pool(emoji.map((e) => e[1]));

const c = [];
c.push(`/* Generated by tools/gen-lexicon.mjs from ${deps['vader-sentiment'].name}@${deps['vader-sentiment'].version}`);
c.push(` * (${deps['vader-sentiment'].member}, Apache-2.0) and ${deps['unicode-emoji'].name}@${deps['unicode-emoji'].version}`);
c.push(` * (${deps['unicode-emoji'].member}, MIT).  Do not edit; not committed.`);
c.push(` * ${lex.lines} lexicon lines, ${lex.dupes} repeated keys (later line kept), ${lex.dead} unreachable keys dropped. */`);
c.push('#include "lexicon_internal.h"', '');
c.push(`const size_t sa_lexdata_nwords = ${lex.words.length};`);
c.push('const char sa_lexdata_words[] =');
c.push(chunks(wp.buf, 64) + ';');
c.push(`const uint32_t sa_lexdata_word_off[${lex.words.length}] = {`);
for (let i = 0; i < wp.offs.length; i += 12) c.push('\t' + wp.offs.slice(i, i + 12).join(', ') + ',');
c.push('};');
c.push(`const double sa_lexdata_valence[${lex.words.length}] = {`);
for (let i = 0; i < lex.words.length; i += 10) c.push('\t' + lex.words.slice(i, i + 10).map((w) => w[1]).join(', ') + ',');
c.push('};', '');
c.push(`const size_t sa_lexdata_nemoji = ${emoji.length};`);
c.push(`const uint32_t sa_lexdata_emoji_cp[${emoji.length}] = {`);
for (let i = 0; i < emoji.length; i += 8) c.push('\t' + emoji.slice(i, i + 8).map((e) => '0x' + e[0].toString(16).toUpperCase()).join(', ') + ',');
c.push('};');
c.push(`const uint32_t sa_lexdata_emoji_off[${emoji.length}] = {`);
for (let i = 0; i < ep.offs.length; i += 12) c.push('\t' + ep.offs.slice(i, i + 12).join(', ') + ',');
c.push('};');
// Membership bitmap over code points in 64-bit words, with the index of the
// first emoji of each word, so a look-up is a bit test and a popcount.
const nwords64 = (emoji[emoji.length - 1][0] >> 6) + 1;
const bits = new Array(nwords64).fill(0n);
const base = new Array(nwords64).fill(0);
for (const [cp] of emoji) bits[cp >> 6] |= 1n << BigInt(cp & 63);
for (let w = 0, idx = 0; w < nwords64; w++) {
	base[w] = idx;
	for (let b = bits[w]; b; b &= b - 1n) idx++;
}
c.push(`const size_t sa_lexdata_emoji_nbits = ${nwords64};`);
c.push(`const uint64_t sa_lexdata_emoji_bits[${nwords64}] = {`);
for (let i = 0; i < nwords64; i += 4) c.push('\t' + bits.slice(i, i + 4).map((b) => '0x' + b.toString(16).toUpperCase() + 'ULL').join(', ') + ',');
c.push('};');
c.push(`const uint16_t sa_lexdata_emoji_base[${nwords64}] = {`);
for (let i = 0; i < nwords64; i += 12) c.push('\t' + base.slice(i, i + 12).join(', ') + ',');
c.push('};');
c.push('const char sa_lexdata_emoji_text[] =');
c.push(chunks(ep.buf, 64) + ';');

fs.mkdirSync(path.dirname(args.out), { recursive: true });
const tmp = args.out + '.tmp';
fs.writeFileSync(tmp, c.join('\n') + '\n');
fs.renameSync(tmp, args.out);
process.stderr.write(`gen-lexicon: ${lex.words.length} words, ${emoji.length} emoji -> ${args.out}\n`);
