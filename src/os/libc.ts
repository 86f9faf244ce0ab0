/**
 * The C library calls Node does not expose, through the koffi FFI (prebuilt binaries, no compiler).
 * Only the daemon loads this module, and binds each function on its first call: the thin client
 * never pays for koffi. Each binding is one `func` declaration in C syntax; a failed call throws
 * an Error with the errno's name in `code`, as Node's own fs functions do.
 */
import koffi, { type LibraryHandle } from 'koffi';

/** flock(2) operations. */
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/**
 * Linux: the process's own symbols, which hold its libc whatever its file name (glibc, musl);
 * macOS: libSystem.
 */
const LIBRARY = process.platform === 'darwin' ? '/usr/lib/libSystem.B.dylib' : null;

type Bound = ReturnType<LibraryHandle['func']>;
let library: LibraryHandle | undefined;
const functions = new Map<string, Bound>();

/** The function declared by `prototype` (`int flock(int, int)`), bound once. */
function bound(name: string, prototype: string): Bound {
  let fn = functions.get(name);
  if (fn === undefined) {
    library ??= koffi.load(LIBRARY);
    fn = library.func(prototype);
    functions.set(name, fn);
  }
  return fn;
}

/** errno as Node names it (`EWOULDBLOCK` is `EAGAIN` on Linux and macOS alike). */
function errnoError(call: string): NodeJS.ErrnoException {
  const errno = koffi.errno();
  const names = Object.entries(koffi.os.errno);
  const name = names.find(([key, value]) => value === errno && key !== 'EWOULDBLOCK')?.[0];
  const error = new Error(`${call} failed: ${name ?? `errno ${errno}`}`);
  return Object.assign(error, { errno, code: name, syscall: call });
}

/** flock(2) on an open descriptor; throws (code EAGAIN when LOCK_NB finds the lock held). */
export function flock(fd: number, operation: number): void {
  const result = bound('flock', 'int flock(int, int)')(fd, operation) as number;
  if (result !== 0) throw errnoError('flock');
}
