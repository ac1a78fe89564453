// A small SVG line chart for TPS series: time on x, value on y, one polyline per series.
// The element carries data-points (samples drawn) so tests and people can see it grow.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// series: [{name, color, points: [[ms, value], ...]}]
function lineChart(series, opts) {
  const W = 800, H = 220, L = 48, R = 10, T = 10, B = 24;
  const all = series.flatMap(x => x.points);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'data-points': String(series.length ? series[0].points.length : 0), role: 'img' });
  svg.append(s('line', { class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B }), s('line', { class: 'axis', x1: L, y1: T, x2: L, y2: H - B }));
  if (!all.length) {
    svg.append(s('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, (opts && opts.empty) || ''));
    return wrap(svg, series);
  }
  const t0 = Math.min(...all.map(p => p[0])), t1 = Math.max(...all.map(p => p[0]));
  const top = Math.max(1, ...all.map(p => p[1])) * 1.1;
  const x = ms => L + (t1 === t0 ? (W - L - R) / 2 : (ms - t0) / (t1 - t0) * (W - L - R));
  const y = v => H - B - v / top * (H - B - T);
  for (const f of [0, 0.5, 1]) {
    svg.append(s('text', { x: L - 4, y: y(top * f) + 4, 'text-anchor': 'end' }, fmtNum(top * f, top < 10 ? 1 : 0)));
    if (f) svg.append(s('line', { class: 'axis', x1: L, y1: y(top * f), x2: W - R, y2: y(top * f), 'stroke-dasharray': '2 4' }));
  }
  const clock = ms => new Date(ms).toLocaleTimeString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { hour: '2-digit', minute: '2-digit' });
  svg.append(s('text', { x: L, y: H - 6 }, clock(t0)), s('text', { x: W - R, y: H - 6, 'text-anchor': 'end' }, clock(t1)));
  for (const ser of series) {
    const pts = ser.points.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { points: pts, fill: 'none', stroke: ser.color, 'stroke-width': 2, 'vector-effect': 'non-scaling-stroke' }));
    if (ser.points.length === 1) svg.append(s('circle', { cx: x(ser.points[0][0]), cy: y(ser.points[0][1]), r: 3, fill: ser.color }));
  }
  return wrap(svg, series);
}

function wrap(svg, series) {
  const legend = h('div', { class: 'legend' }, series.map(x => h('span', null, h('i', { style: null, 'data-color': x.color }), x.name)));
  legend.querySelectorAll('i').forEach(i => { i.style.background = i.dataset.color; });
  return h('div', null, svg, legend);
}
