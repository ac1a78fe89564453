// Apogee console pages: subscription groups (reset offsets), app users, clients, messages
// (query, consume status, resend), alerts.
'use strict';

// ---------- groups ----------
const GROUP_FIELDS = [
  { name: 'groupName', label: 'group', required: true },
  { name: 'firstConsumeMechanism', label: 'group.start', type: 'select', value: 1, options: [[1, 'start.last'], [2, 'start.first']] },
  { name: 'consumeBroadcastEnable', label: 'group.broadcast', type: 'check' },
  { name: 'retryQueueNums', label: 'group.retryQueues', type: 'number', value: 1 },
  { name: 'retryMaxTimes', label: 'group.retryMax', type: 'number', value: 16 },
  { name: 'fromSlave', label: 'group.fromSlave', type: 'check' },
  { name: 'consumeEnable', label: 'group.enabled', type: 'check', value: true },
  { name: 'remark', label: 'remark', wide: true },
];
function groupBody(v) {
  return { clusterNameList: [A.cluster], brokerNameList: [], remark: v.remark, subscriptionGroupConfig: {
    groupName: v.groupName, consumeEnable: v.consumeEnable, consumeBroadcastEnable: v.consumeBroadcastEnable,
    retryQueueNums: v.retryQueueNums, retryMaxTimes: v.retryMaxTimes, whichBrokerWhenConsumeSlowly: v.fromSlave ? 1 : 0,
    firstConsumeMechanism: Number(v.firstConsumeMechanism) } };
}

PAGES.groups = async (view, [group]) => {
  if (group) return groupDetail(view, group);
  const state = { page: 1, size: 20, name: '' };
  const list = h('div');
  const createBox = h('div', { class: 'card', hidden: true }, h('h2', null, t('group.create')), form(GROUP_FIELDS, 'create', async v => {
    if (await attempt(() => api('POST', `/api/manager/subscriptions/${clusterPath()}`, groupBody(v)))) { toast(t('created', v.groupName)); createBox.hidden = true; load(); }
  }, 'group-form'));
  const importInput = h('input', { type: 'file', accept: '.csv,text/csv', hidden: true, onchange: async ev => {
    const rows = csvParse(await ev.target.files[0].text()); let ok = 0;
    for (const r of rows) if (await attempt(() => api('POST', `/api/manager/subscriptions/${clusterPath()}`, groupBody({ ...r, retryQueueNums: Number(r.retryQueueNums || 1), retryMaxTimes: Number(r.retryMaxTimes || 16), consumeBroadcastEnable: r.consumeBroadcastEnable === 'true', consumeEnable: r.consumeEnable !== 'false', fromSlave: r.fromSlave === 'true', firstConsumeMechanism: r.firstConsumeMechanism || 1 })))) ok++;
    toast(t('imported', ok, rows.length)); ev.target.value = ''; load();
  } });
  const columns = ['groupName', 'consumeEnable', 'consumeBroadcastEnable', 'retryQueueNums', 'retryMaxTimes', 'fromSlave', 'firstConsumeMechanism', 'remark'];
  view.replaceChildren(h('h1', null, t('nav.groups')),
    h('form', { class: 'toolbar', onsubmit: ev => { ev.preventDefault(); state.page = 1; state.name = ev.target.name.value; load(); } },
      h('label', null, t('filter.name'), h('input', { name: 'name', id: 'group-filter' })), h('button', { type: 'submit' }, t('search')),
      A.full && h('button', { type: 'button', class: 'secondary', id: 'group-new', onclick: () => { createBox.hidden = !createBox.hidden; } }, t('group.create')),
      A.full && h('button', { type: 'button', class: 'secondary', onclick: () => importInput.click() }, t('csv.import')),
      h('button', { type: 'button', class: 'link', onclick: () => csvDownload('groups-template.csv', [{ groupName: 'GID_orders', consumeEnable: true, consumeBroadcastEnable: false, retryQueueNums: 1, retryMaxTimes: 16, fromSlave: false, firstConsumeMechanism: 1, remark: '' }], columns) }, t('csv.template')),
      h('button', { type: 'button', class: 'link', onclick: async () => {
        const all = await api('GET', `/api/manager/subscriptions/${clusterPath()}/basedatas`, undefined, { pageSize: 1000, name: state.name });
        csvDownload('groups.csv', all.rows.map(r => ({ ...r, fromSlave: r.whichBrokerWhenConsumeSlowly === 1 })), ['brokerName', ...columns]);
      } }, t('csv.export')), importInput),
    createBox, list);
  async function load() {
    const r = await api('GET', `/api/manager/subscriptions/${clusterPath()}/basedatas`, undefined, { pageNumber: state.page, pageSize: state.size, name: state.name });
    list.replaceChildren(h('div', { class: 'card' }, table([
      { key: 'groupName', label: 'group' }, { key: 'brokerName', label: 'broker' },
      { key: 'consumeEnable', label: 'group.enabled', render: r => h('span', { class: 'tag ' + (r.consumeEnable ? 'ok' : 'bad') }, r.consumeEnable ? t('yes') : t('no')) },
      { key: 'consumeBroadcastEnable', label: 'group.broadcast', render: r => r.consumeBroadcastEnable ? t('yes') : t('no') },
      { key: 'retryMaxTimes', label: 'group.retryMax' }, { key: 'remark', label: 'remark' },
    ], r.rows, row => go('#/groups/' + C(row.groupName))), pager(r.total, state.page, state.size, n => { state.page = n; load(); })));
  }
  await load();
};

async function groupDetail(view, group) {
  const base = `/api/manager/subscriptions/${clusterPath()}/${C(group)}`;
  const [detail, conn] = await Promise.all([api('GET', base + '/detail'), api('GET', `/api/console/groups/${C(group)}/connection`).catch(() => null)]);
  const d = detail.data || {};
  const cfg = d.subscriptionGroupConfig || d;
  const topics = (conn && conn.data && conn.data.topics) || [];
  const resetOut = h('div', { id: 'reset-result' }), depthOut = h('div'), running = h('div');
  const modify = h('div', { class: 'card', hidden: true }, h('h2', null, t('modify')), form(GROUP_FIELDS.filter(f => f.name !== 'groupName').map(f => ({ ...f,
    value: f.name === 'fromSlave' ? cfg.whichBrokerWhenConsumeSlowly === 1 : f.name === 'remark' ? d.remark : (cfg[f.name] ?? f.value) })), 'save', async v => {
    if (await attempt(() => api('POST', base, groupBody({ ...v, groupName: group })))) { toast(t('saved')); go('#/groups/' + C(group)); }
  }));
  const now = localTime(Date.now());
  view.replaceChildren(h('h1', null, t('nav.groups') + ' / ' + group),
    h('div', { class: 'toolbar' },
      A.full && h('button', { class: 'secondary', onclick: async () => { if (await attempt(() => api('POST', base + '/openStatus', undefined, { isOpen: cfg.consumeEnable === false ? 0 : 1 }))) go('#/groups/' + C(group)); } }, cfg.consumeEnable === false ? t('group.enable') : t('group.disable')),
      A.full && h('button', { class: 'secondary', onclick: () => { modify.hidden = !modify.hidden; } }, t('modify')),
      A.full && h('button', { class: 'danger', onclick: async () => { if (confirm(t('confirm.delete', group)) && await attempt(() => api('DELETE', base))) { toast(t('deleted', group)); go('#/groups'); } } }, t('delete'))),
    modify,
    h('div', { class: 'card' }, table([{ key: '0', label: 'key' }, { key: '1', label: 'value', render: r => typeof r[1] === 'object' ? JSON.stringify(r[1]) : String(r[1]) }], Object.entries(cfg))),
    h('div', { class: 'card' }, h('h2', null, t('clients.online')), conn && conn.data ? [
      table([{ key: 'clientId', label: 'client.id' }, { key: 'clientAddr', label: 'address' }, { key: 'language', label: 'client.language' }, { key: 'version', label: 'version' }, { key: 'subscriptions', label: 'group.subscriptions', render: r => (r.subscriptions || ['—']).join('; ') }], conn.data.connections || [], c => runningInfo(group, c.clientId, running)), running,
      h('p', { id: 'sub-consistent' }, h('span', { class: 'tag ' + (conn.data.consistent ? 'ok' : 'bad') }, conn.data.consistent ? t('group.consistent') : t('group.inconsistent')), ' ', h('span', { class: 'muted' }, t('group.model', conn.data.messageModel || '—', conn.data.consumeType || '—'))),
      table([{ key: 'topic', label: 'topic' }, { key: 'subString', label: 'group.expression' }], conn.data.subscriptions || [])] : h('p', { class: 'muted' }, t('group.offline'))),
    A.full && h('div', { class: 'card' }, h('h2', null, t('reset')),
      form([{ name: 'topicName', label: 'topic', required: true, value: topics[0] || '' }, { name: 'time', label: 'reset.time', type: 'datetime-local', value: now }], 'reset.do', async v => {
        const resetTime = new Date(v.time).getTime();
        const r = await attempt(() => api('POST', '/api/manager/topics/consumeOffset', { consumerGroupList: [group], topicName: v.topicName, resetTime, force: true }));
        if (r) resetOut.replaceChildren(h('p', null, t('reset.done', fmtTime(resetTime), r.diffOffset)), table([{ key: 'brokerName', label: 'broker' }, { key: 'queueId', label: 'queue' }, { key: 'consumerOffset', label: 'reset.before' }, { key: 'rollbackOffset', label: 'reset.after' }, { key: 'brokerOffset', label: 'offset.broker' }], r.rows, null));
      }, 'reset-form'), resetOut),
    h('div', { class: 'card' }, h('h2', null, t('topic.backlog')), form([{ name: 'topicName', label: 'topic', value: topics[0] || '' }], 'search', async v => {
      const r = await attempt(() => api('GET', base + '/depth', undefined, { topicName: v.topicName }));
      if (r) depthOut.replaceChildren(table([{ key: 'topicName', label: 'topic' }, { key: 'brokerName', label: 'broker' }, { key: 'diff', label: 'backlog' }, { key: 'notConsumeMsgTime', label: 'delay.ms' }, { key: 'retryNums', label: 'retry' }], r.rows || r.data || []));
    }), depthOut),
    dlqSection(group));
}

// ---------- users ----------
PAGES.users = async view => {
  if (!A.full) { view.replaceChildren(h('p', { class: 'muted' }, t('users.onlyAdmin'))); return; }
  const r = await api('GET', '/api/console/users');
  const detail = h('div');
  view.replaceChildren(h('h1', null, t('nav.users')),
    h('div', { class: 'card' }, h('h2', null, t('user.create')), form([
      { name: 'username', label: 'user.ak', required: true }, { name: 'password', label: 'user.sk', required: true },
      { name: 'userType', label: 'user.type', type: 'select', value: 'Normal', options: [['Normal', 'user.normal'], ['Super', 'user.super']] }], 'create', async v => {
      if (await attempt(() => api('POST', '/api/console/users', v))) { toast(t('created', v.username)); go('#/users'); }
    }, 'user-form')),
    h('div', { class: 'card', id: 'user-list' }, table([
      { key: 'username', label: 'user.ak' },
      { key: 'password', label: 'user.sk', render: u => { const s = h('span', { class: 'muted' }, '••••••'); return h('span', null, s, h('button', { class: 'link', onclick: ev => { ev.stopPropagation(); s.textContent = u.password || '—'; } }, t('show'))); } },
      { key: 'userType', label: 'user.type' }, { key: 'userStatus', label: 'status' },
      { key: 'x', label: 'actions', render: u => [
        h('button', { class: 'link', onclick: async ev => { ev.stopPropagation(); if (await attempt(() => api('POST', '/api/console/users/' + C(u.username), { userStatus: u.userStatus === 'disable' ? 'enable' : 'disable' }))) go('#/users'); } }, u.userStatus === 'disable' ? t('enable') : t('disable')),
        h('button', { class: 'link', onclick: async ev => { ev.stopPropagation(); if (confirm(t('confirm.delete', u.username)) && await attempt(() => api('DELETE', '/api/console/users/' + C(u.username)))) go('#/users'); } }, t('delete'))] },
    ], r.rows, u => showAcl(u.username))), detail);
  async function showAcl(name) {
    const acl = await api('GET', `/api/console/users/${C(name)}/acl`);
    detail.replaceChildren(h('div', { class: 'card' }, h('h2', null, t('user.permissions', name)),
      table([{ key: 'resource', label: 'acl.resource' }, { key: 'actions', label: 'acl.actions', render: e => (e.actions || []).join(', ') }, { key: 'decision', label: 'acl.decision' },
        { key: 'x', label: 'actions', render: e => h('button', { class: 'link', onclick: async () => { if (await attempt(() => api('DELETE', `/api/console/users/${C(name)}/acl`, undefined, { resource: e.resource }))) showAcl(name); } }, t('delete')) }], acl.rows),
      form([{ name: 'resource', label: 'acl.resource', placeholder: 'Topic:Orders', required: true }, { name: 'actions', label: 'acl.actions', placeholder: 'Pub,Sub' },
        { name: 'decision', label: 'acl.decision', type: 'select', value: 'Allow', options: [['Allow', 'acl.allow'], ['Deny', 'acl.deny']] }], 'acl.grant', async v => {
        const body = { resource: v.resource, decision: v.decision, actions: v.actions.split(',').map(a => a.trim()).filter(Boolean) };
        if (await attempt(() => api('POST', `/api/console/users/${C(name)}/acl`, body))) showAcl(name);
      })));
  }
};

// ---------- clients ----------
PAGES.clients = async view => {
  const out = h('div');
  view.replaceChildren(h('h1', null, t('nav.clients')),
    form([{ name: 'topic', label: 'topic', required: true }], 'search', async v => {
      const base = `/api/manager/topics/${clusterPath()}/${C(v.topic)}`;
      const [p, c] = await Promise.all([api('GET', base + '/producers', undefined, { pageSize: 1000 }), api('GET', base + '/consumers', undefined, { pageSize: 1000 })]);
      const instances = h('div', { id: 'producer-instances' });
      out.replaceChildren(h('div', { class: 'grid2' },
        h('div', { class: 'card' }, h('h2', null, t('producers')), table([{ key: 'g', label: 'group', render: r => String(r) }], p.rows, g => producerInstances(g, v.topic, instances)), instances),
        h('div', { class: 'card' }, h('h2', null, t('consumers')), table([{ key: 'g', label: 'group', render: r => String(r) }], c.rows, g => go('#/groups/' + C(g))))));
    }), out);
};

// ---------- messages ----------
PAGES.messages = async (view, [topicArg]) => {
  const out = h('div', { id: 'message-result' });
  const mode = { by: 'key' };
  const fields = {
    key: [{ name: 'topicName', label: 'topic', required: true, value: topicArg || '' }, { name: 'key', label: 'message.key', required: true }],
    id: [{ name: 'topicName', label: 'topic', required: true, value: topicArg || '' }, { name: 'msgId', label: 'message.id', required: true }],
    offset: [{ name: 'topicName', label: 'topic', required: true, value: topicArg || '' }, { name: 'brokerName', label: 'broker', required: true }, { name: 'queueId', label: 'queue', type: 'number', value: 0 }, { name: 'queueOffset', label: 'offset', type: 'number', value: 0 }],
    time: [{ name: 'topicName', label: 'topic', required: true, value: topicArg || '' }, { name: 'begin', label: 'query.begin', type: 'datetime-local', value: localTime(Date.now() - 3600e3) }, { name: 'end', label: 'query.end', type: 'datetime-local', value: localTime(Date.now() + 60e3) }],
  };
  const box = h('div');
  const tabs = h('div', { class: 'tabs' }, Object.keys(fields).map(k => h('button', { type: 'button', class: k === mode.by ? 'on' : '', onclick: ev => { mode.by = k; tabs.querySelectorAll('button').forEach(b => b.classList.toggle('on', b === ev.target)); draw(); } }, t('query.' + k))));
  function draw() {
    box.replaceChildren(form(fields[mode.by], 'search', async v => {
      let list = [];
      if (mode.by === 'key') list = (await attempt(() => api('GET', '/api/manager/messages/key', undefined, { ...v, pageSize: 100 })) || {}).rows || [];
      if (mode.by === 'id') { const r = await attempt(() => api('GET', '/api/manager/messages/' + C(v.msgId), undefined, { topicName: v.topicName })); if (r) list = [r.data]; }
      if (mode.by === 'offset') { const r = await attempt(() => api('GET', '/api/manager/messages/offset', undefined, v)); if (r) list = [r.data]; }
      if (mode.by === 'time') {
        const r = await attempt(() => api('GET', '/api/console/messages/time', undefined, { topicName: v.topicName, begin: new Date(v.begin).getTime(), end: new Date(v.end).getTime(), max: 200 }));
        if (r) { list = r.rows; out.replaceChildren(); }
        const pick = async m => { const d = await attempt(() => api('GET', '/api/manager/messages/offset', undefined, { topicName: m.topic, brokerName: m.brokerName, queueId: m.queueId, queueOffset: m.queueOffset })); if (d) showMessage(d.data); };
        out.replaceChildren(h('div', { class: 'card' }, table([{ key: 'msgId', label: 'message.id' }, { key: 'keys', label: 'message.key', render: m => (m.properties || {}).KEYS || '—' },
          { key: 'storeTimestamp', label: 'time', render: m => fmtTime(m.storeTimestamp) }, { key: 'queueId', label: 'queue' }, { key: 'queueOffset', label: 'offset' }], list, pick)));
        return;
      }
      out.replaceChildren(h('div', { class: 'card' }, table([{ key: 'msgId', label: 'message.id' }, { key: 'keys', label: 'message.key', render: m => (m.properties || {}).KEYS || '—' },
        { key: 'storeTimestamp', label: 'time', render: m => fmtTime(m.storeTimestamp) }, { key: 'queueId', label: 'queue' }, { key: 'queueOffset', label: 'offset' }], list, showMessage)));
      if (list.length === 1) showMessage(list[0]);
    }, 'message-form'));
  }
  function showMessage(m) {
    const body = h('pre', { id: 'message-body' });
    const show = how => {
      const text = m.messageBody || '';
      if (how === 'hex') body.textContent = Array.from(new TextEncoder().encode(text)).map(b => b.toString(16).padStart(2, '0')).join(' ');
      else if (how === 'json') { try { body.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch (_) { body.textContent = t('message.notJson'); } }
      else body.textContent = text;
    };
    show('text');
    out.querySelector('#message-detail')?.remove();
    out.append(h('div', { class: 'card', id: 'message-detail' }, h('h2', null, t('message.detail', m.msgId)),
      h('div', { class: 'tabs' }, ['text', 'hex', 'json'].map(k => h('button', { type: 'button', onclick: () => show(k) }, t('body.' + k)))), body,
      h('h2', null, t('message.properties')), table([{ key: '0', label: 'key' }, { key: '1', label: 'value' }], Object.entries(m.properties || {})),
      h('h2', null, t('message.track')), table([{ key: 'consumerGroup', label: 'group' }, { key: 'trackType', label: 'track', render: r => h('span', { class: 'tag ' + (r.trackType === 'CONSUMED' ? 'ok' : 'warn') }, r.trackType) },
        { key: 'status', label: 'status', render: r => h('span', { class: 'tag track-status ' + (r.status === 'CONSUMED' ? 'ok' : 'warn') }, r.status || '—') }], m.trackList || []),
      h('p', { class: 'muted' }, t('message.stored', fmtTime(m.storeTimestamp), m.storeHost, fmtTime(m.bornTimestamp), m.bornHost)),
      traceSection(m), A.full && resendSection(m)));
  }
  view.replaceChildren(h('h1', null, t('nav.messages')), tabs, box, out);
  draw();
};

// ---------- alerts ----------
function ruleBody(v, enabled) {
  return { name: v.name, kind: v.kind, clusterName: v.clusterName || A.cluster, enabled, threshold: Number(v.threshold),
    webhook: v.webhook || '', topicName: v.topicName || null, groupName: v.groupName || null };
}
function ruleForm(rule) {
  const r = rule || {};
  return form([
    { name: 'name', label: 'alert.name', required: true, value: r.name },
    { name: 'kind', label: 'alert.kind', type: 'select', value: r.kind || 'backlog', options: [['backlog', 'kind.backlog'], ['consume_delay', 'kind.consume_delay'], ['group_offline', 'kind.group_offline'], ['dlq_growing', 'kind.dlq_growing'], ['disk', 'kind.disk']] },
    { name: 'topicName', label: 'topic', value: r.topicName }, { name: 'groupName', label: 'group', value: r.groupName },
    { name: 'threshold', label: 'alert.threshold', type: 'number', value: r.threshold ?? 1000 }, { name: 'webhook', label: 'alert.webhook', wide: true, value: r.webhook }],
  rule ? 'save' : 'create', async v => {
    const done = rule ? await attempt(() => api('PUT', '/api/alerts/rules/' + rule.id, ruleBody({ ...v, clusterName: rule.clusterName }, rule.enabled)))
      : await attempt(() => api('POST', '/api/alerts/rules', ruleBody(v, true)));
    if (done) { toast(rule ? t('saved') : t('created', v.name)); go('#/alerts'); }
  }, 'rule-form');
}

PAGES.alerts = async view => {
  const [rules, events] = await Promise.all([api('GET', '/api/alerts/rules'), api('GET', '/api/alerts/events')]);
  const editor = h('div', { class: 'card', hidden: !A.full }, h('h2', null, t('alert.create')), ruleForm(null));
  const edit = r => { editor.replaceChildren(h('h2', null, t('alert.edit', r.name)), ruleForm(r)); editor.scrollIntoView(); };
  const toggle = async r => { if (await attempt(() => api('PUT', '/api/alerts/rules/' + r.id, ruleBody(r, !r.enabled)))) go('#/alerts'); };
  view.replaceChildren(h('h1', null, t('nav.alerts')), editor,
    h('div', { class: 'card' }, h('h2', null, t('alert.rules')), table([
      { key: 'name', label: 'alert.name' }, { key: 'kind', label: 'alert.kind', render: r => t('kind.' + r.kind) }, { key: 'topicName', label: 'topic' }, { key: 'groupName', label: 'group' },
      { key: 'threshold', label: 'alert.threshold' },
      { key: 'firing', label: 'status', render: r => h('span', { class: 'tag ' + (!r.enabled ? '' : r.firing ? 'bad' : 'ok') }, !r.enabled ? t('alert.off') : r.firing ? t('alert.firing') : t('alert.ok')) },
      { key: 'x', label: 'actions', render: r => A.full && [
        h('button', { class: 'link', onclick: () => edit(r) }, t('modify')),
        h('button', { class: 'link', onclick: () => toggle(r) }, r.enabled ? t('disable') : t('enable')),
        h('button', { class: 'link', onclick: async () => { if (await attempt(() => api('DELETE', '/api/alerts/rules/' + r.id))) go('#/alerts'); } }, t('delete'))] }], rules.data)),
    h('div', { class: 'card' }, h('h2', null, t('alert.history')), table([
      { key: 'at', label: 'time', render: e => fmtTime(e.at) }, { key: 'ruleName', label: 'alert.name' }, { key: 'state', label: 'status' }, { key: 'message', label: 'alert.message' }], events.data)));
};
