import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBackoff } from '../dist/daemon/retryBackoff.js';

test('backoff doubles from 1 s to a 30 s cap, within ±20 % jitter, and resets on success', () => {
  const low = new RetryBackoff(1000, 30_000, 0.2, () => 0);
  const high = new RetryBackoff(1000, 30_000, 0.2, () => 0.999999);
  const waits = [];
  for (let i = 0; i < 7; i++) {
    low.failed(0);
    high.failed(0);
    waits.push([low.waitMs(0), high.waitMs(0)]);
  }
  assert.deepEqual(
    waits.map(([l]) => Math.round(l)),
    [800, 1600, 3200, 6400, 12800, 24000, 24000],
  );
  assert.deepEqual(
    waits.map(([, h]) => Math.round(h)),
    [1200, 2400, 4800, 9600, 19200, 36000, 36000],
  );
  assert.equal(low.waitMs(24_000), 0, 'an attempt may go once the wait is over');
  low.succeeded();
  assert.equal(low.waitMs(0), 0);
  low.failed(0);
  assert.equal(Math.round(low.waitMs(0)), 800, 'back to the first step after a success');
});

test('a waiting client gets an attempt at most once a second after a failure, whatever the backoff', () => {
  const backoff = new RetryBackoff(1000, 30_000, 0, () => 0.5);
  assert.equal(backoff.clientWaitMs(0), 0, 'nothing failed yet: go now');
  for (let i = 0; i < 6; i++) backoff.failed(i * 1000);
  assert.ok(
    backoff.waitMs(5000) >= 8000,
    `the background schedule has grown to ${backoff.waitMs(5000)} ms`,
  );
  assert.equal(backoff.clientWaitMs(5000), 1000, 'right after the last failure: one second');
  assert.equal(backoff.clientWaitMs(5400), 600);
  assert.equal(
    backoff.clientWaitMs(6000),
    0,
    'a second later a client may try, though the background waits longer',
  );
  backoff.succeeded();
  assert.equal(backoff.clientWaitMs(6000), 0);
  assert.equal(backoff.waitMs(6000), 0);
});
