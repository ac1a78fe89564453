// Apogee console: the page's core — API calls with the session's CSRF token, a small DOM
// builder (text only: nothing from the server is ever parsed as HTML), tables, forms, the hash
// router and timers that stop when the page changes.
'use strict';

const A = { csrf: null, user: null, full: false, cluster: '', page: null, timers: [] };

function t(key, ...args) {
  const dict = I18N[lang()] || I18N.en;
  let s = dict[key] ?? I18N.en[key] ?? key;
  args.forEach((a, i) => { s = s.replace('{' + i + '}', a); });
  return s;
}
function lang() { return localStorage.getItem('apogee.lang') || (navigator.language.startsWith('zh') ? 'zh' : 'en'); }
function setLang(l) { localStorage.setItem('apogee.lang', l); document.documentElement.lang = l; translate(document); route(); }
function translate(root) {
  root.querySelectorAll('[data-t]').forEach(e => { e.textContent = t(e.dataset.t); });
}

// h('div', {class: 'x', onclick: f}, 'text', child, [more]) — text children are text nodes.
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'value') e.value = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  const add = k => {
    if (k === null || k === undefined || k === false) return;
    if (Array.isArray(k)) k.forEach(add);
    else e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  };
  kids.forEach(add);
  return e;
}

class ApiError extends Error { constructor(status, message) { super(message); this.status = status; } }

async function api(method, path, body, query) {
  const url = new URL(path, location.origin);
  if (A.cluster && !url.searchParams.has('clusterName')) url.searchParams.set('clusterName', A.cluster);
  for (const [k, v] of Object.entries(query || {})) if (v !== '' && v !== undefined && v !== null) url.searchParams.set(k, v);
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && A.csrf) headers['X-CSRF-Token'] = A.csrf;
  const r = await fetch(url, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  let json = null;
  try { json = await r.json(); } catch (_) { /* not JSON */ }
  if (r.status === 401 && !path.endsWith('/session')) { showLogin(); }
  if (!r.ok || !json || json.code !== 200) throw new ApiError(r.status, (json && json.message) || r.statusText);
  return json.result;
}

function toast(text, bad) {
  const d = h('div', { class: bad ? 'bad' : '' }, text);
  document.getElementById('toast').append(d);
  setTimeout(() => d.remove(), bad ? 8000 : 4000);
}
// Runs an action, reporting its error; returns its value or undefined.
async function attempt(f) {
  try { return await f(); } catch (e) { toast(t('error') + ': ' + e.message, true); return undefined; }
}

function fmtTime(ms) { return ms ? new Date(Number(ms)).toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB') : '—'; }
// A time as a datetime-local input wants it, in the browser's zone.
function localTime(ms) { return new Date(ms - new Date(ms).getTimezoneOffset() * 60e3).toISOString().slice(0, 16); }
function fmtNum(n, digits) { return n === null || n === undefined ? '—' : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits ?? 2 }); }

// columns: [{key, label, render(row) -> node|string}]
function table(columns, rows, onRow) {
  const head = h('tr', null, columns.map(c => h('th', null, t(c.label || c.key))));
  const body = rows.length ? rows.map(r => h('tr', { class: onRow ? 'clickable' : null, onclick: onRow ? () => onRow(r) : null },
    columns.map(c => h('td', null, c.render ? c.render(r) : (r[c.key] ?? '—'))))) :
    [h('tr', null, h('td', { colspan: columns.length, class: 'muted' }, t('empty')))];
  return h('table', null, h('thead', null, head), h('tbody', null, body));
}

// fields: [{name, label, type: text|number|select|check|textarea, options, value, required, wide}]
function form(fields, submitLabel, onSubmit, id) {
  const inputs = {};
  const rows = fields.map(f => {
    let input;
    if (f.type === 'select') input = h('select', { name: f.name }, f.options.map(o => h('option', { value: o[0], selected: String(o[0]) === String(f.value) }, t(o[1]))));
    else if (f.type === 'check') input = h('input', { type: 'checkbox', name: f.name, checked: !!f.value });
    else if (f.type === 'textarea') input = h('textarea', { name: f.name, rows: 4 }, f.value ?? '');
    else input = h('input', { type: f.type || 'text', name: f.name, value: f.value ?? '', required: !!f.required, placeholder: f.placeholder || null });
    inputs[f.name] = input;
    return h('label', { class: (f.type === 'check' ? 'check ' : '') + (f.wide ? 'wide' : '') }, f.type === 'check' ? [input, t(f.label)] : [t(f.label), input]);
  });
  const values = () => Object.fromEntries(fields.map(f => {
    const i = inputs[f.name];
    if (f.type === 'check') return [f.name, i.checked];
    if (f.type === 'number') return [f.name, i.value === '' ? null : Number(i.value)];
    return [f.name, i.value.trim()];
  }));
  const button = h('button', { type: 'submit' }, t(submitLabel));
  const el = h('form', { class: 'form', id: id || null, onsubmit: async ev => {
    ev.preventDefault(); button.disabled = true;
    try { await onSubmit(values()); } finally { button.disabled = false; }
  } }, rows, h('div', null, button));
  return el;
}

function pager(total, number, size, go) {
  const pages = Math.max(1, Math.ceil(total / size));
  return h('div', { class: 'pager' },
    h('button', { class: 'secondary', disabled: number <= 1, onclick: () => go(number - 1) }, '‹'),
    h('span', { class: 'muted' }, t('page.of', number, pages, fmtNum(total))),
    h('button', { class: 'secondary', disabled: number >= pages, onclick: () => go(number + 1) }, '›'));
}

function every(ms, f) { A.timers.push(setInterval(f, ms)); }
function stopTimers() { A.timers.forEach(clearInterval); A.timers = []; }

function csvDownload(name, rows, columns) {
  const cell = v => { const s = v === null || v === undefined ? '' : String(v); return /[",\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  const text = [columns.join(','), ...rows.map(r => columns.map(c => cell(r[c])).join(','))].join('\n') + '\n';
  const a = h('a', { href: URL.createObjectURL(new Blob([text], { type: 'text/csv' })), download: name });
  document.body.append(a); a.click(); a.remove();
}
function csvParse(text) {
  const rows = []; let row = [], cur = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) { if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c; }
    else if (c === '"') q = true; else if (c === ',') { row.push(cur); cur = ''; }
    else if (c === '\n' || c === '\r') { if (c === '\r' && text[i + 1] === '\n') i++; row.push(cur); rows.push(row); row = []; cur = ''; }
    else cur += c;
  }
  if (cur !== '' || row.length) { row.push(cur); rows.push(row); }
  const [head, ...data] = rows.filter(r => r.some(c => c.trim() !== ''));
  return (data || []).map(r => Object.fromEntries(head.map((k, i) => [k.trim(), (r[i] ?? '').trim()])));
}

const PAGES = {};

async function route() {
  if (!A.csrf) return;
  stopTimers();
  const [name, ...rest] = (location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const page = PAGES[name] ? name : 'overview';
  document.querySelectorAll('#nav a').forEach(a => a.classList.toggle('active', a.dataset.page === page));
  const view = document.getElementById('view');
  view.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  A.page = page;
  try { await PAGES[page](view, rest.map(decodeURIComponent)); }
  catch (e) { view.replaceChildren(h('p', { class: 'error' }, t('error') + ': ' + e.message)); }
}
function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

function showLogin() {
  A.csrf = null; stopTimers();
  document.getElementById('app').hidden = true;
  document.getElementById('login').hidden = false;
}
async function enter(session) {
  A.csrf = session.csrf; A.user = session.accessKey; A.full = session.full;
  document.getElementById('login').hidden = true;
  document.getElementById('app').hidden = false;
  document.getElementById('who').textContent = A.user + (A.full ? '' : ' (' + t('readOnly') + ')');
  const clusters = await attempt(() => api('GET', '/api/console/clusters'));
  const names = (clusters && clusters.data) || [];
  const select = document.getElementById('cluster-select');
  A.cluster = localStorage.getItem('apogee.cluster');
  if (!names.includes(A.cluster)) A.cluster = names[0] || '';
  select.replaceChildren(...names.map(n => h('option', { value: n, selected: n === A.cluster }, n)));
  route();
}

document.addEventListener('DOMContentLoaded', async () => {
  document.documentElement.lang = lang();
  translate(document);
  document.querySelectorAll('.lang-switch').forEach(b => b.addEventListener('click', () => setLang(lang() === 'zh' ? 'en' : 'zh')));
  document.getElementById('cluster-select').addEventListener('change', e => { A.cluster = e.target.value; localStorage.setItem('apogee.cluster', A.cluster); route(); });
  document.getElementById('logout').addEventListener('click', async () => { await api('DELETE', '/api/console/session').catch(() => null); showLogin(); });
  document.getElementById('login-form').addEventListener('submit', async ev => {
    ev.preventDefault();
    const err = document.getElementById('login-error'); err.textContent = '';
    try {
      const r = await api('POST', '/api/console/session', { accessKey: document.getElementById('login-ak').value.trim(), secretKey: document.getElementById('login-sk').value });
      document.getElementById('login-sk').value = '';
      await enter(r.data);
    } catch (e) { err.textContent = e.message; }
  });
  window.addEventListener('hashchange', route);
  try { enter((await api('GET', '/api/console/session')).data); } catch (_) { showLogin(); }
});
