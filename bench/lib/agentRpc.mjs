// Talking to an agent over its socket as any client would, without the agent's own client code
// (which a build may move or change): JSON-RPC 2.0 lines for kms-agent, and oidc-agent's JSON
// request. The load generators send the same requests.
import { createConnection } from 'node:net';

const rpcLine = (method, params) =>
  JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) + '\n';

/** kms-agent's token.get for a profile's access token, as one line. */
export const tokenRequest = (profile, extra = {}) =>
  rpcLine('token.get', { profile, kind: 'access', ...extra });
/** oidc-agent's documented IPC request for an access token (unencrypted). */
export const oidcTokenRequest = (account, minValid) =>
  JSON.stringify({ request: 'access_token', account, min_valid_period: minValid });

export const STATUS_LINE = rpcLine('agent.status', {});
/** token.get with no parameters: the default profile's token. */
export const TOKEN_LINE = rpcLine('token.get', {});

/** Sends lines on one connection, one at a time, and resolves with the answer line of each. */
export function ask(socketPath, lines) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const answers = [];
    let pending = '';
    let next = 0;
    const send = () => socket.write(lines[next++]);
    socket.setEncoding('utf8');
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        answers.push(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (next < lines.length) send();
        else {
          socket.destroy();
          return resolve(answers);
        }
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      reject(new Error(`${socketPath} closed after ${answers.length} answer(s)`));
    });
  });
}

/** One JSON-RPC call on a connection of its own: the result, or an error with the agent's text. */
export async function rpc(socketPath, method, params = {}, timeoutMs = 30_000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    const fail = () => reject(new Error(`${method}: no answer in ${timeoutMs} ms`));
    timer = setTimeout(fail, timeoutMs);
  });
  try {
    const [answer] = await Promise.race([ask(socketPath, [rpcLine(method, params)]), timeout]);
    const reply = JSON.parse(answer);
    if (reply.error) throw new Error(`${method}: ${reply.error.message}`);
    return reply.result;
  } finally {
    clearTimeout(timer);
  }
}
