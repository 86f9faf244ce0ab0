// oidc-provider prints its notices through console.warn/info, some once per process at import
// (e.g. "Unsupported runtime" on Node 20) and some on first use; only those lines are dropped,
// while at least one quiet provider is running.
const NOTICE = /oidc-provider (NOTICE|WARNING):/;
let quietProviders = 0;
let restoreConsole = () => {};

/** Drops oidc-provider's notices until the returned function is called (once per provider). */
export function silenceProviderNotices(): () => void {
  if (quietProviders++ === 0) {
    const { warn, info } = console;
    const filtered =
      (print: (...args: unknown[]) => void) =>
      (...args: unknown[]) => {
        if (!(typeof args[0] === 'string' && NOTICE.test(args[0]))) print.apply(console, args);
      };
    console.warn = filtered(warn);
    console.info = filtered(info);
    restoreConsole = () => {
      console.warn = warn;
      console.info = info;
    };
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--quietProviders === 0) restoreConsole();
  };
}
