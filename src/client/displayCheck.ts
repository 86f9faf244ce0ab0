/**
 * Why no browser can be opened here, or undefined when one may be. On the desktops that use X11 or
 * Wayland (Linux, the BSDs) a graphical browser needs DISPLAY or WAYLAND_DISPLAY: without either,
 * on an SSH session or a server, xdg-open has nothing to open — unless $BROWSER names a program
 * (a text browser, or a script) that does not need one. macOS and Windows always have a browser.
 */
export function noDisplayReason(
  env: NodeJS.ProcessEnv = process.env,
  platform: NodeJS.Platform = process.platform,
): string | undefined {
  if (platform === 'darwin' || platform === 'win32') return undefined;
  if (env.BROWSER || env.DISPLAY || env.WAYLAND_DISPLAY) return undefined;
  return 'no display is available (DISPLAY and WAYLAND_DISPLAY are unset) and BROWSER is not set';
}
