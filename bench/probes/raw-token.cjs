// Probe: the least a Node client can do: CommonJS, node:net only, one token.get on the agent's
// socket, the token printed. What `kms-agent token` would cost with no module loading of its own.
'use strict';
const socket = require('node:net').connect(process.env.KMS_AGENT_SOCK);
socket.end('{"jsonrpc":"2.0","id":1,"method":"token.get","params":{}}\n');
let text = '';
socket.setEncoding('utf8');
socket.on('data', (chunk) => {
  text += chunk;
  const nl = text.indexOf('\n');
  if (nl === -1) return;
  const reply = JSON.parse(text.slice(0, nl));
  if (!reply.result) {
    process.stderr.write(`raw-token: ${reply.error?.message}\n`);
    process.exitCode = 1;
  } else process.stdout.write(reply.result.token + '\n');
  socket.destroy();
});
socket.on('error', (err) => {
  process.stderr.write(`raw-token: ${err.message}\n`);
  process.exitCode = 1;
});
