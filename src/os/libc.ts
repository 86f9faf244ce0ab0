/**
 * The C library calls Node does not expose, through the koffi FFI (prebuilt binaries, no compiler).
 * Only the daemon loads this module, and binds each function on its first call: the thin client
 * never pays for koffi. Each binding is one `func` declaration in C syntax; a failed call throws
 * an Error with the errno's name in `code`, as Node's own fs functions do.
 */
import type { LibraryHandle } from 'koffi';
import { nodeRequire } from './packageFiles.js';

type Koffi = typeof import('koffi');

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/**
 * Linux: the process's own symbols, which hold its libc whatever its file name (glibc, musl);
 * macOS: libSystem.
 */
const LIBRARY = process.platform === 'darwin' ? '/usr/lib/libSystem.B.dylib' : null;

type Bound = ReturnType<LibraryHandle['func']>;
let koffi: Koffi | undefined;
let library: LibraryHandle | undefined;

/**
 * koffi's native module. On Linux it is taken straight from koffi's prebuilt package for this
 * machine (its glibc build): koffi's own loader, which probes the libc and the paths first, adds
 * about 3.7 ms to every daemon start (1.4 vs 5.1 ms, measured by hand). Anywhere that fails
 * (musl, another layout), koffi's loader finds the binary.
 */
function loadKoffi(): Koffi {
  const require = nodeRequire();
  if (process.platform === 'linux') {
    const { arch } = process;
    try {
      return require(`@koromix/koffi-linux-${arch}/linux_${arch}/koffi.node`) as Koffi;
    } catch {
      // koffi's loader below.
    }
  }
  return require('koffi') as Koffi;
}
const functions = new Map<string, Bound>();

/** The function declared by `prototype` (`int flock(int, int)`), bound once. */
function bound(name: string, prototype: string): Bound {
  let fn = functions.get(name);
  if (fn === undefined) {
    koffi ??= loadKoffi();
    library ??= koffi.load(LIBRARY);
    fn = library.func(prototype);
    functions.set(name, fn);
  }
  return fn;
}

/** errno as Node names it (`EWOULDBLOCK` is `EAGAIN` on Linux and macOS alike). */
function errnoError(call: string): NodeJS.ErrnoException {
  const errno = koffi!.errno();
  const names = Object.entries(koffi!.os.errno);
  const name = names.find(([key, value]) => value === errno && key !== 'EWOULDBLOCK')?.[0];
  const error = new Error(`${call} failed: ${name ?? `errno ${errno}`}`);
  return Object.assign(error, { errno, code: name, syscall: call });
}

/** flock(2) on an open descriptor; throws (code EAGAIN when LOCK_NB finds the lock held). */
export function flock(fd: number, operation: number): void {
  const result = bound('flock', 'int flock(int, int)')(fd, operation) as number;
  if (result !== 0) throw errnoError('flock');
}

/** The process at the other end of a Unix socket, as the kernel saw it connect. */
export interface PeerCredentials {
  pid: number;
  uid: number;
}

// Reused for every connection: reading a peer's credentials allocates nothing (bench/compare/).
const credentials = Buffer.alloc(12);
const length = Buffer.alloc(4);
const groupId = Buffer.alloc(4);
const GETSOCKOPT = 'int getsockopt(int, int, int, _Inout_ void *, _Inout_ void *)';

function getsockopt(fd: number, level: number, option: number, size: number): boolean {
  length.writeUInt32LE(size, 0);
  return (bound('getsockopt', GETSOCKOPT)(fd, level, option, credentials, length) as number) === 0;
}

/**
 * The peer's pid and uid, from the kernel: SO_PEERCRED on Linux (struct ucred: pid, uid, gid);
 * getpeereid(3) and LOCAL_PEERPID on macOS. Undefined where the platform has neither, or when the
 * call fails (the connection is already gone).
 */
export function peerCredentials(fd: number): PeerCredentials | undefined {
  if (process.platform === 'linux') {
    if (!getsockopt(fd, 1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, 12)) return undefined;
    return { pid: credentials.readInt32LE(0), uid: credentials.readUInt32LE(4) };
  }
  if (process.platform === 'darwin') {
    const eid = 'int getpeereid(int, _Inout_ void *, _Inout_ void *)';
    if ((bound('getpeereid', eid)(fd, credentials, groupId) as number) !== 0) return undefined;
    const uid = credentials.readUInt32LE(0);
    if (!getsockopt(fd, 0 /* SOL_LOCAL */, 2 /* LOCAL_PEERPID */, 4)) return { pid: -1, uid };
    return { pid: credentials.readInt32LE(0), uid };
  }
  return undefined;
}

/**
 * No core file, and no /proc/PID/mem, environ or ptrace for other processes of the user, as
 * ssh-agent does: prctl(PR_SET_DUMPABLE, 0) on Linux, ptrace(PT_DENY_ATTACH) on macOS. After it, a
 * process that is not root can no longer write its own /proc/self/coredump_filter: call it after.
 * Returns false where neither exists.
 */
export function makeNonDumpable(): boolean {
  if (process.platform === 'linux') {
    const prctl = 'int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)';
    if ((bound('prctl', prctl)(4 /* PR_SET_DUMPABLE */, 0, 0, 0, 0) as number) !== 0)
      throw errnoError('prctl');
    return true;
  }
  if (process.platform === 'darwin') {
    const ptrace = 'int ptrace(int, int, void *, int)';
    if ((bound('ptrace', ptrace)(31 /* PT_DENY_ATTACH */, 0, null, 0) as number) !== 0)
      throw errnoError('ptrace');
    return true;
  }
  return false;
}

/** Set once malloc_trim was not found: it is not looked up again. */
let noMallocTrim = false;

/**
 * Gives the C heap's free pages back to the system: memory that Node and V8 freed but glibc's
 * allocator kept for reuse (malloc_trim(3)). False where the C library has no such call (musl,
 * macOS): its allocator returns memory its own way.
 */
export function trimCHeap(): boolean {
  if (process.platform !== 'linux' || noMallocTrim) return false;
  try {
    bound('malloc_trim', 'int malloc_trim(size_t)')(0);
    return true;
  } catch {
    noMallocTrim = true;
    return false;
  }
}
