// A memory profile of a running Node process: which of its resident pages are which. The pages of
// the node binary are attributed to the symbol they hold (nm -S of the binary, /proc/PID/pagemap
// for residency), grouped by subsystem; anonymous memory by the kind of mapping it is. Linux only.
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, realpathSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PAGE = 4096;

/** Code (text) by subsystem; read-only data by what it is. First match wins. */
const CODE_GROUPS = [
  ['V8 optimizing compiler (TurboFan)', /^v8::internal::compiler::/],
  ['V8 WebAssembly', /^v8::internal::wasm::/],
  ['V8 baseline compilers (Sparkplug, Maglev)', /^v8::internal::(baseline|maglev)::/],
  [
    'V8 parser, bytecode, interpreter',
    /^v8::internal::(interpreter|Parser|ParserBase|Scanner|PreParser|AstNode|Ast|BytecodeArray)/,
  ],
  ['V8 builtins', /^Builtins_/],
  ['V8 runtime, heap and GC', /^(v8::|cppgc::|heap::)/],
  ['ICU (Intl, Unicode)', /^(icu_|u_|ucase|ubidi|uprv_|ures_|udata|ucol|unorm)/],
  [
    'OpenSSL',
    new RegExp(
      '^(EVP_|SSL_|ssl_|X509|x509|OPENSSL|CRYPTO_|BN_|bn_|RSA_|rsa_|EC_|ec_|ossl_|OSSL|ASN1|' +
        'asn1|PEM_|BIO_|OBJ_|ERR_|err_|tls_|SHA|sha|AES|aes|DH_|RAND_|rand_|HMAC|PKCS|i2d_|' +
        'd2i_|CONF_|conf_|ENGINE|evp_|dtls)',
    ),
  ],
  [
    'Node C++, libuv, HTTP parser, URL',
    new RegExp(
      '^(node::|uv_|uv__|llhttp|ada::|simdutf|nghttp|ares_|brotli|Brotli|uvwasi|inflate|' +
        'deflate|crc32|adler|_tr_|napi_)',
    ),
  ],
];

let symbolTable;
/** [start, end, name, isData] of every sized symbol of the binary, sorted by address. */
async function symbols(binary) {
  if (symbolTable?.binary === binary) return symbolTable.list;
  const { stdout } = await run('nm', ['-S', '-C', '--defined-only', binary], {
    maxBuffer: 256 << 20,
  });
  const list = [];
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (\w) (.*)$/.exec(line);
    if (m)
      list.push([
        parseInt(m[1], 16),
        parseInt(m[1], 16) + parseInt(m[2], 16),
        m[4],
        /[rRdDbB]/.test(m[3]),
      ]);
  }
  list.sort((a, b) => a[0] - b[0]);
  symbolTable = { binary, list };
  return list;
}

function symbolAt(list, address) {
  let lo = 0;
  let hi = list.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid][0] <= address) lo = mid;
    else hi = mid - 1;
  }
  const s = list[lo];
  return s && s[0] <= address && address < s[1] ? s : undefined;
}

function groupOf(symbol, executable) {
  if (!symbol)
    return executable
      ? 'code without a symbol'
      : 'read-only data without a symbol (builtin JS sources, literals)';
  const [, , name] = symbol;
  if (!executable) return /^icudt/.test(name) ? 'ICU data' : 'other read-only data';
  return CODE_GROUPS.find(([, re]) => re.test(name))?.[0] ?? 'other code';
}

/** Resident pages of each mapping, from /proc/PID/pagemap (bit 63: present). */
function residentPages(fd, start, end) {
  const pages = (end - start) / PAGE;
  const buf = Buffer.alloc(pages * 8);
  readSync(fd, buf, 0, buf.length, (start / PAGE) * 8);
  const present = [];
  for (let i = 0; i < pages; i++)
    if (buf.readBigUInt64LE(i * 8) >> 63n) present.push(start + i * PAGE);
  return present;
}

/**
 * Anonymous mappings by kind: V8's heap pages are 256 KiB, glibc's thread arenas 64 MiB-aligned
 * reservations.
 */
function anonKind(map, next) {
  if (map.name === '[heap]') return 'malloc, main arena';
  if (map.name === '[stack]') return 'main thread stack';
  if (map.perms.includes('x')) return 'JIT code (V8 code space)';
  const arenaSize = 64 * 2 ** 20;
  if (
    map.start % arenaSize === 0 &&
    next?.start === map.end &&
    next.perms === '---p' &&
    next.end - map.start === arenaSize
  )
    return 'malloc, thread arenas';
  if (map.end - map.start === 256 * 1024) return 'V8 heap pages';
  if (map.end - map.start === 8 * 2 ** 20 || map.end - map.start === 8 * 2 ** 20 + PAGE)
    return 'thread stacks';
  return 'other anonymous (V8 large objects and code, buffers)';
}

/** e_type of an ELF file: 2 fixed address, 3 position-independent. */
function elfType(path) {
  const header = Buffer.alloc(18);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 18, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt16LE(16);
}

function isFile(map, path) {
  try {
    return map.name.startsWith('/') && realpathSync(map.name) === path;
  } catch {
    return false; // a deleted file, a memfd
  }
}

/** MiB per group: { binary: [[group, MiB]…], anonymous: [[kind, MiB]…], other: [[file, MiB]…] }. */
export async function residentProfile(pid) {
  const binary = realpathSync(`/proc/${pid}/exe`);
  const list = await symbols(binary);
  const maps = [];
  let current;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (m)
      maps.push(
        (current = {
          start: parseInt(m[1], 16),
          end: parseInt(m[2], 16),
          perms: m[3],
          name: m[4],
          rssKiB: 0,
        }),
      );
    else if (line.startsWith('Rss:')) current.rssKiB = Number(line.split(/\s+/)[1]);
  }
  // A position-independent binary is loaded at a bias (its first mapping); a fixed one is not.
  const isPie = elfType(binary) === 3;
  const bias = isPie ? (maps.find((m) => isFile(m, binary))?.start ?? 0) : 0;
  const sums = { binary: new Map(), anonymous: new Map(), other: new Map() };
  const add = (where, key, kib) => sums[where].set(key, (sums[where].get(key) ?? 0) + kib / 1024);
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  try {
    maps.forEach((map, i) => {
      if (map.rssKiB === 0) return;
      if (isFile(map, binary)) {
        for (const page of residentPages(fd, map.start, map.end))
          add('binary', groupOf(symbolAt(list, page - bias), map.perms.includes('x')), PAGE / 1024);
      } else if (map.name.startsWith('/')) {
        add('other', map.name.split('/').pop(), map.rssKiB);
      } else {
        add('anonymous', anonKind(map, maps[i + 1]), map.rssKiB);
      }
    });
  } finally {
    closeSync(fd);
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    binary: sorted(sums.binary),
    anonymous: sorted(sums.anonymous),
    other: sorted(sums.other),
  };
}
