// bench/tokens-per-second.svg: tokens per second against concurrent clients, log–log, for each
// way of asking and both agents, with the 3× oidc-agent target as a dashed line.
import { cellMedian } from '../lib/stats.mjs';

const W = 900;
const H = 470;
const M = { l: 78, r: 310, t: 50, b: 58 };
const PW = W - M.l - M.r;
const PH = H - M.t - M.b;

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const human = (v) => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(v));

function seriesOf(R) {
  const P = R.parameters;
  const points = (key, scale = 1) =>
    P.concurrency.map((c) => [c, scale * cellMedian(R.throughput, key, c)]);
  const series = [
    { key: 'kms-pipe', name: `kms-agent, pipelined (${P.pipeDepth} in flight)`, color: '#1b7837' },
    { key: 'kms-persistent', name: 'kms-agent, persistent (1 in flight)', color: '#5aae61' },
    { key: 'kms-conn', name: 'kms-agent, 1 request per connection', color: '#2166ac' },
    { key: 'oidc-conn', name: 'oidc-agent, 1 request per connection', color: '#b2182b' },
  ].map((s) => ({ ...s, dash: '', points: points(s.key) }));
  const target = {
    name: '3× oidc-agent (target)',
    color: '#b2182b',
    points: points('oidc-conn', 3),
  };
  return { series, target };
}

/** The axes' mapping: bounds on the 1-2-5 grid around the data, log scales on both. */
function scales(R, all) {
  const P = R.parameters;
  const steps = (v) => [1, 2, 5].map((k) => k * Math.pow(10, Math.floor(Math.log10(v))));
  const min = Math.min(...all);
  const max = Math.max(...all);
  const lo = Math.max(...steps(min).filter((s) => s <= min));
  const hi = Math.min(...[...steps(max), 10 * steps(max)[0]].filter((s) => s >= max));
  const xMin = Math.log10(P.concurrency[0]);
  const xMax = Math.log10(P.concurrency.at(-1));
  const X = (c) => M.l + ((Math.log10(c) - xMin) / (xMax - xMin || 1)) * PW;
  const Y = (v) =>
    M.t + PH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PH;
  return { lo, hi, X, Y };
}

/** Grid, ticks (1, 2, 5 per decade on y), frame and axis titles. */
function axes(R, { lo, hi, X, Y }, out) {
  const decade = Math.pow(10, Math.floor(Math.log10(lo)));
  for (let d = decade; d <= hi; d *= 10) {
    for (const k of [1, 2, 5]) {
      const v = d * k;
      if (v < lo * 0.999) continue;
      if (v > hi * 1.001) break;
      const y = Y(v).toFixed(1);
      const stroke = k === 1 ? '#ccc' : '#eee';
      out.push(`<line x1="${M.l}" x2="${M.l + PW}" y1="${y}" y2="${y}" stroke="${stroke}"/>`);
      const ty = (+y + 4).toFixed(1);
      out.push(`<text x="${M.l - 8}" y="${ty}" text-anchor="end" fill="#333">${human(v)}</text>`);
    }
  }
  for (const c of R.parameters.concurrency) {
    const xx = X(c).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${M.t}" y2="${M.t + PH}" stroke="#eee"/>`);
    const ty = M.t + PH + 18;
    out.push(`<text x="${xx}" y="${ty}" text-anchor="middle" fill="#333">${c}</text>`);
  }
  out.push(`<rect x="${M.l}" y="${M.t}" width="${PW}" height="${PH}" fill="none" stroke="#888"/>`);
  out.push(
    `<text x="${M.l + PW / 2}" y="${H - 14}" text-anchor="middle">` +
      'concurrent clients (log scale)</text>',
  );
  out.push(
    `<text transform="translate(18 ${M.t + PH / 2}) rotate(-90)" text-anchor="middle">` +
      'tokens per second (log scale)</text>',
  );
}

function lines({ series, target }, { X, Y }, out) {
  const path = (pts) =>
    pts.map(([c, v], i) => `${i ? 'L' : 'M'}${X(c).toFixed(1)} ${Y(v).toFixed(1)}`).join(' ');
  out.push(
    `<path d="${path(target.points)}" fill="none" stroke="${target.color}" ` +
      'stroke-width="1.5" stroke-dasharray="5 4" opacity="0.7"/>',
  );
  for (const s of series) {
    out.push(`<path d="${path(s.points)}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    for (const [c, v] of s.points) {
      const title = esc(`${s.name}, ${c} clients: ${Math.round(v)} tokens/s`);
      out.push(
        `<circle cx="${X(c).toFixed(1)}" cy="${Y(v).toFixed(1)}" r="4" fill="${s.color}">` +
          `<title>${title}</title></circle>`,
      );
    }
  }
}

/** End-of-line values, pushed apart where lines end close together, and the legend. */
function labels(R, { series, target }, { X, Y }, out) {
  const lastC = R.parameters.concurrency.at(-1);
  const ends = series
    .map((s) => ({ s, v: s.points.at(-1)[1], y: Y(s.points.at(-1)[1]) + 4 }))
    .sort((a, b) => a.y - b.y);
  for (let i = 1; i < ends.length; i++) ends[i].y = Math.max(ends[i].y, ends[i - 1].y + 13);
  for (const l of ends) {
    const value = human(Math.round(l.v / 100) * 100);
    out.push(
      `<text x="${(X(lastC) + 8).toFixed(1)}" y="${l.y.toFixed(1)}" fill="${l.s.color}" ` +
        `font-size="11">${value}</text>`,
    );
  }
  const lx = M.l + PW + 50;
  [...series, { ...target, dash: '5 4' }].forEach((s, i) => {
    const ly = M.t + 14 + i * 22;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${s.color}" ` +
        `stroke-width="${s.dash ? 1.5 : 2.5}"${dash}/>`,
    );
    out.push(`<text x="${lx + 30}" y="${ly + 4}" fill="#222">${esc(s.name)}</text>`);
  });
}

export function throughputChart(R) {
  const P = R.parameters;
  const data = seriesOf(R);
  const all = [...data.series, data.target]
    .flatMap((s) => s.points.map((p) => p[1]))
    .filter((v) => v > 0);
  const scale = scales(R, all);
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" ` +
      `viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(
    `<text x="${M.l}" y="24" font-size="16" font-weight="bold">` +
      'Tokens per second vs concurrent clients</text>',
  );
  const { cpus, node, oidcAgent, date } = R.machine;
  const subtitle =
    `${cpus} cores, ${node}, ${oidcAgent}, ${date.slice(0, 10)}; ` +
    `medians of ${P.reps} × ${P.windowMs / 1000} s; log–log`;
  out.push(`<text x="${M.l}" y="40" fill="#555">${esc(subtitle)}</text>`);
  axes(R, scale, out);
  lines(data, scale, out);
  labels(R, data, scale, out);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
