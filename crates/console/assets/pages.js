// Apogee console pages: overview, cluster, topics (list, create, CSV, detail, dial test).
'use strict';

const C = encodeURIComponent;
const clusterPath = () => C(A.cluster);

// ---------- overview ----------
PAGES.overview = async view => {
  const chartBox = h('div', { id: 'tps-chart' });
  const range = { hours: 1 };
  const tabs = h('div', { class: 'tabs' }, [[1, 'range.hour'], [24, 'range.day']].map(([hours, label]) =>
    h('button', { type: 'button', class: hours === range.hours ? 'on' : '', onclick: ev => { range.hours = hours; tabs.querySelectorAll('button').forEach(b => b.classList.toggle('on', b === ev.target)); drawTps(); } }, t(label))));
  const figures = h('div', { class: 'figures', id: 'figures' });
  const backlog = h('div'), busiest = h('div'), alerts = h('div');
  view.replaceChildren(h('h1', null, t('nav.overview')), figures,
    h('div', { class: 'card' }, h('h2', null, t('overview.tps')), tabs, chartBox),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, h('h2', null, t('overview.backlog')), backlog),
      h('div', { class: 'card' }, h('h2', null, t('overview.busiest')), busiest)),
    h('div', { class: 'card' }, h('h2', null, t('overview.alerts')), alerts));
  async function drawTps() {
    const r = await api('GET', `/api/manager/${clusterPath()}/tps`);
    const since = Date.now() - range.hours * 3600e3;
    const rows = r.rows.filter(p => p.crtTime >= since);
    chartBox.replaceChildren(lineChart([
      { name: t('tps.in'), color: '#2f6fed', points: rows.map(p => [p.crtTime, p.inTPS]) },
      { name: t('tps.out'), color: '#1e9e63', points: rows.map(p => [p.crtTime, p.outTPS]) },
    ], { empty: t('chart.empty') }));
  }
  async function refresh() {
    const [base, top, rules] = await Promise.all([
      api('GET', '/api/manager/cluster/base'), api('GET', '/api/console/overview'), api('GET', '/api/alerts/rules')]);
    const b = base.data[0] || {};
    figures.replaceChildren(...[['fig.masters', b.mainBrokerNums], ['fig.slaves', b.slaveBrokerNums], ['fig.producers', b.produceGroupNums],
      ['fig.consumers', b.consumeGroupNums], ['fig.history', b.msgHistoryNums], ['fig.now', b.msgNowNums]]
      .map(([k, v]) => h('div', { class: 'figure' }, h('span', { class: 'muted' }, t(k)), h('b', null, fmtNum(v)))));
    backlog.replaceChildren(table([{ key: 'topic', label: 'topic' }, { key: 'group', label: 'group' }, { key: 'value', label: 'backlog', render: r => fmtNum(r.value) }],
      top.data.topBacklog, r => go('#/topics/' + C(r.topic))));
    busiest.replaceChildren(table([{ key: 'topic', label: 'topic' }, { key: 'value', label: 'tps.put', render: r => fmtNum(r.value) }],
      top.data.busiestTopics, r => go('#/topics/' + C(r.topic))));
    const firing = rules.data.filter(x => x.firing);
    alerts.replaceChildren(table([{ key: 'name', label: 'alert.name' }, { key: 'kind', label: 'alert.kind' }, { key: 'threshold', label: 'alert.threshold' }], firing));
    await drawTps();
  }
  await refresh();
  every(5000, () => refresh().catch(() => null));
};

// ---------- cluster ----------
PAGES.cluster = async (view, [broker]) => {
  const d = (await api('GET', '/api/manager/cluster/detail')).data;
  const map = ((d.brokerInfoMap || {})[A.cluster] || {}).brokerMap || {};
  const rows = [];
  for (const [name, ids] of Object.entries(map)) for (const [id, info] of Object.entries(ids)) rows.push({ name, id, info });
  const status = r => r.info.brokerStatus || r.info;
  const tps = s => (s.putTps || '').split(' ')[0];
  view.replaceChildren(h('h1', null, t('nav.cluster')), h('div', { class: 'card' }, table([
    { key: 'name', label: 'broker' },
    { key: 'role', label: 'broker.role', render: r => h('span', { class: 'tag ' + (r.id === '0' ? 'ok' : '') }, r.id === '0' ? t('master') : t('slave')) },
    { key: 'addr', label: 'address', render: r => r.info.brokerAddress || '—' },
    { key: 'version', label: 'version', render: r => status(r).brokerVersionDesc || '—' },
    { key: 'in', label: 'tps.in', render: r => fmtNum(tps(status(r))) },
    { key: 'out', label: 'tps.out', render: r => fmtNum((status(r).getTransferedTps || '').split(' ')[0]) },
    { key: 'yesterday', label: 'broker.yesterday', render: r => fmtNum(Number(status(r).msgPutTotalYesterdayMorning || 0) ? Number(status(r).msgPutTotalTodayMorning) - Number(status(r).msgPutTotalYesterdayMorning) : 0) },
    { key: 'today', label: 'broker.today', render: r => fmtNum(Number(status(r).msgPutTotalTodayNow || 0) - Number(status(r).msgPutTotalTodayMorning || 0)) },
  ], rows, r => go('#/cluster/' + C(r.name + '/' + r.id)))));
  if (!broker) return;
  const [name, id] = broker.split('/');
  const r = rows.find(x => x.name === name && x.id === (id || '0'));
  if (!r) return;
  const kv = Object.entries(status(r)).sort((a, b) => a[0].localeCompare(b[0]));
  const topics = await api('GET', `/api/manager/topics/${clusterPath()}/basedatas`, undefined, { brokerName: name, pageSize: 1000 });
  const tpsBox = h('div');
  view.append(h('h2', null, t('broker.runtime', name + ' #' + (id || 0))), tpsBox,
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, table([{ key: '0', label: 'key' }, { key: '1', label: 'value' }], kv)),
      h('div', { class: 'card' }, h('h2', null, t('nav.topics') + ' (' + topics.total + ')'),
        table([{ key: 'topicName', label: 'topic' }, { key: 'writeQueueNums', label: 'topic.queues' }], topics.rows, x => go('#/topics/' + C(x.topicName))))));
  if (r.id === '0') await brokerTps(name, tpsBox);
};

// ---------- topics ----------
const TOPIC_FIELDS = [
  { name: 'topicName', label: 'topic', required: true },
  { name: 'writeQueueNums', label: 'topic.writeQueues', type: 'number', value: 8 },
  { name: 'readQueueNums', label: 'topic.readQueues', type: 'number', value: 8 },
  { name: 'perm', label: 'topic.perm', type: 'select', value: 6, options: [[6, 'perm.rw'], [4, 'perm.r'], [2, 'perm.w']] },
  { name: 'messageType', label: 'topic.type', type: 'select', value: 'NORMAL', options: [['NORMAL', 'type.normal'], ['FIFO', 'type.fifo'], ['DELAY', 'type.delay'], ['TRANSACTION', 'type.transaction']] },
  { name: 'remark', label: 'remark', wide: true },
];
function topicBody(v) {
  return { clusterNameList: [A.cluster], brokerNameList: [], topicName: v.topicName, writeQueueNums: v.writeQueueNums, readQueueNums: v.readQueueNums,
    perm: Number(v.perm), order: v.messageType === 'FIFO', messageType: v.messageType, remark: v.remark };
}

PAGES.topics = async (view, [topic]) => {
  if (topic) return topicDetail(view, topic);
  const state = { page: 1, size: 20, name: '', broker: '' };
  const list = h('div', { id: 'topic-list' });
  const createBox = h('div', { class: 'card', hidden: true },
    h('h2', null, t('topic.create')),
    form(TOPIC_FIELDS, 'create', async v => {
      if (await attempt(() => api('POST', '/api/manager/topics', topicBody(v)))) { toast(t('created', v.topicName)); createBox.hidden = true; load(); }
    }, 'topic-form'));
  const importInput = h('input', { type: 'file', accept: '.csv,text/csv', hidden: true, onchange: async ev => {
    const rows = csvParse(await ev.target.files[0].text()); let ok = 0;
    for (const r of rows) if (await attempt(() => api('POST', '/api/manager/topics', topicBody({ ...r, writeQueueNums: Number(r.writeQueueNums || 8), readQueueNums: Number(r.readQueueNums || 8), perm: r.perm || 6, messageType: r.messageType || 'NORMAL' })))) ok++;
    toast(t('imported', ok, rows.length)); ev.target.value = ''; load();
  } });
  const filter = h('form', { class: 'toolbar', onsubmit: ev => { ev.preventDefault(); state.page = 1; state.name = ev.target.name.value; state.broker = ev.target.broker.value; load(); } },
    h('label', null, t('filter.name'), h('input', { name: 'name', id: 'topic-filter' })),
    h('label', null, t('broker'), h('input', { name: 'broker' })),
    h('button', { type: 'submit' }, t('search')),
    A.full && h('button', { type: 'button', class: 'secondary', id: 'topic-new', onclick: () => { createBox.hidden = !createBox.hidden; } }, t('topic.create')),
    A.full && h('button', { type: 'button', class: 'secondary', onclick: () => importInput.click() }, t('csv.import')),
    h('button', { type: 'button', class: 'link', onclick: () => csvDownload('topics-template.csv', [{ topicName: 'OrderTopic', writeQueueNums: 8, readQueueNums: 8, perm: 6, messageType: 'NORMAL', remark: 'orders' }], ['topicName', 'writeQueueNums', 'readQueueNums', 'perm', 'messageType', 'remark']) }, t('csv.template')),
    h('button', { type: 'button', class: 'link', onclick: async () => {
      const all = await api('GET', `/api/manager/topics/${clusterPath()}/basedatas`, undefined, { pageSize: 1000, name: state.name, brokerName: state.broker });
      csvDownload('topics.csv', all.rows, ['topicName', 'brokerName', 'writeQueueNums', 'readQueueNums', 'perm', 'messageType', 'remark']);
    } }, t('csv.export')), importInput);
  view.replaceChildren(h('h1', null, t('nav.topics')), filter, createBox, list);
  async function load() {
    const r = await api('GET', `/api/manager/topics/${clusterPath()}/basedatas`, undefined, { pageNumber: state.page, pageSize: state.size, name: state.name, brokerName: state.broker });
    list.replaceChildren(h('div', { class: 'card' }, table([
      { key: 'topicName', label: 'topic' }, { key: 'brokerName', label: 'broker' },
      { key: 'writeQueueNums', label: 'topic.writeQueues' }, { key: 'readQueueNums', label: 'topic.readQueues' },
      { key: 'perm', label: 'topic.perm' }, { key: 'messageType', label: 'topic.type', render: r => t('type.' + ({ FIFO: 'fifo', DELAY: 'delay', TRANSACTION: 'transaction' }[r.messageType] || 'normal')) },
      { key: 'remark', label: 'remark' },
    ], r.rows, row => go('#/topics/' + C(row.topicName))), pager(r.total, state.page, state.size, n => { state.page = n; load(); })));
  }
  await load();
};

async function topicDetail(view, topic) {
  const base = `/api/manager/topics/${clusterPath()}/${C(topic)}`;
  const [detail, queues, depth, producers, consumers, stats] = await Promise.all([
    api('GET', `/api/manager/topics/${clusterPath()}/basedata/${C(topic)}`), api('GET', base + '/queues'),
    api('GET', base + '/depth', undefined, { pageSize: 100 }), api('GET', base + '/producers', undefined, { pageSize: 100 }),
    api('GET', base + '/consumers', undefined, { pageSize: 100 }), api('GET', `/api/console/topics/${C(topic)}/stats`).catch(() => ({ stored: 0, rows: [] }))]);
  const d = detail.data || {};
  const dialOut = h('div', { id: 'dial-result' });
  const modify = h('div', { class: 'card', hidden: true }, h('h2', null, t('modify')), form(TOPIC_FIELDS.filter(f => f.name !== 'topicName').map(f => ({ ...f, value: d[f.name] ?? f.value })), 'save', async v => {
    if (await attempt(() => api('POST', base, topicBody({ ...v, topicName: topic })))) { toast(t('saved')); go('#/topics/' + C(topic)); }
  }));
  const tpsBox = h('div'), instances = h('div');
  view.replaceChildren(
    h('h1', null, t('nav.topics') + ' / ' + topic),
    h('div', { class: 'toolbar' },
      A.full && h('button', { class: 'secondary', onclick: () => { modify.hidden = !modify.hidden; } }, t('modify')),
      A.full && h('button', { class: 'danger', onclick: async () => {
        if (confirm(t('confirm.delete', topic)) && await attempt(() => api('DELETE', base))) { toast(t('deleted', topic)); go('#/topics'); }
      } }, t('delete')),
      h('a', { href: '#/messages/' + C(topic) }, t('messages.find'))),
    modify,
    h('div', { class: 'card' }, table([{ key: 'brokerName', label: 'broker' }, { key: 'writeQueueNums', label: 'topic.writeQueues' }, { key: 'readQueueNums', label: 'topic.readQueues' }, { key: 'perm', label: 'topic.perm' }, { key: 'remark', label: 'remark' }], [d])),
    h('div', { class: 'card', id: 'topic-stats' }, h('h2', null, t('topic.stored', fmtNum(stats.stored))), table([{ key: 'brokerName', label: 'broker' }, { key: 'queueId', label: 'queue' },
      { key: 'minOffset', label: 'offset.min' }, { key: 'maxOffset', label: 'offset.max' }, { key: 'lastUpdateTimestamp', label: 'offset.lastWrite', render: r => fmtTime(r.lastUpdateTimestamp) }], stats.rows)),
    h('div', { class: 'card' }, h('h2', null, t('tps.put')), tpsBox),
    A.full && h('div', { class: 'card' }, h('h2', null, t('dial')),
      form([{ name: 'count', label: 'dial.count', type: 'number', value: 10 }, { name: 'size', label: 'dial.size', type: 'number', value: 128 }, { name: 'key', label: 'message.key' }], 'dial.send', async v => {
        const r = await attempt(() => api('POST', `/api/console/topics/${C(topic)}/dial`, v));
        if (r) dialOut.replaceChildren(h('p', { id: 'dial-sent' }, t('dial.sent', r.total, r.elapsedMs, r.key)),
          table([{ key: 'msgId', label: 'message.id' }, { key: 'brokerName', label: 'broker' }, { key: 'queueId', label: 'queue' }, { key: 'queueOffset', label: 'offset' }, { key: 'status', label: 'status' }], r.rows.slice(0, 20)));
      }, 'dial-send-form'),
      form([{ name: 'group', label: 'group', value: 'apogee-console-dial' }, { name: 'count', label: 'dial.count', type: 'number', value: 10 }], 'dial.consume', async v => {
        const r = await attempt(() => api('POST', `/api/console/topics/${C(topic)}/dial/consume`, v));
        if (r) dialOut.replaceChildren(h('p', { id: 'dial-consumed' }, t('dial.consumed', r.total, r.elapsedMs, r.group)),
          table([{ key: 'msgId', label: 'message.id' }, { key: 'keys', label: 'message.key' }, { key: 'queueId', label: 'queue' }, { key: 'queueOffset', label: 'offset' }, { key: 'bornTimestamp', label: 'time', render: x => fmtTime(x.bornTimestamp) }], r.rows.slice(0, 20)));
      }, 'dial-consume-form'), dialOut),
    h('div', { class: 'card' }, h('h2', null, t('topic.backlog')), table([{ key: 'groupName', label: 'group' }, { key: 'brokerName', label: 'broker' }, { key: 'diff', label: 'backlog' }, { key: 'notConsumeMsgTime', label: 'delay.ms' }, { key: 'outTps', label: 'tps.out' }], depth.rows || [], r => go('#/groups/' + C(r.groupName)))),
    h('div', { class: 'grid2' },
      h('div', { class: 'card' }, h('h2', null, t('producers')), table([{ key: 'group', label: 'group', render: r => String(r) }], producers.rows || [], g => producerInstances(g, topic, instances)), instances),
      h('div', { class: 'card' }, h('h2', null, t('consumers')), table([{ key: 'group', label: 'group', render: r => String(r) }], consumers.rows || [], r => go('#/groups/' + C(r))))),
    h('div', { class: 'card' }, h('h2', null, t('topic.queuesOf')), queueTable(queues)),
    h('div', { class: 'card', id: 'topic-route' }, h('h2', null, t('route')), await routeSection(topic)));
  const tr = await api('GET', base + '/tps');
  tpsBox.replaceChildren(lineChart([{ name: t('tps.put'), color: '#2f6fed', points: (tr.inTpslist || []).map(p => [p.crtTime, p.inTPS ?? p.tps ?? 0]) }], { empty: t('chart.empty') }));
}

function queueTable(q) {
  const rows = [];
  for (const g of (q.rows || q.data || [])) for (const s of (g.queueStatInfoList || [])) rows.push({ group: g.consumerGroup || g.groupName, ...s });
  return table([{ key: 'group', label: 'group' }, { key: 'brokerName', label: 'broker' }, { key: 'queueId', label: 'queue' }, { key: 'brokerOffset', label: 'offset.broker' }, { key: 'consumerOffset', label: 'offset.consumer' }], rows);
}
