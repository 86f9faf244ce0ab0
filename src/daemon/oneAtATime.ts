/**
 * Runs asynchronous tasks one at a time, in the order they were given: each starts once the one
 * before has settled, whether it succeeded or failed. The uses of one refresh token
 * (grantKeeper.ts), unlock attempts (control/passphraseLock.ts) and prompts on screen
 * (control/confirmations.ts) each go through one.
 */
export class OneAtATime {
  private last: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.last.then(task, task);
    this.last = run.catch(() => undefined);
    return run;
  }
}
