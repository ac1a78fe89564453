// Apogee console: sections shared by pages — a group's dead letters with resend, resending a
// message, a consumer's running info, a topic's route, a producer group's instances, a
// broker's TPS.
'use strict';

function dlqSection(group) {
  const box = h('div', { id: 'dlq' });
  const state = { page: 1, size: 20 };
  async function load() {
    let r;
    try { r = await api('GET', '/api/console/dlq/' + C(group), undefined, { pageNumber: state.page, pageSize: state.size }); }
    catch (e) { box.replaceChildren(h('p', { class: 'muted' }, e.status === 404 ? t('dlq.none') : e.message)); return; }
    const picked = new Set();
    const key = m => m.brokerName + '/' + m.queueId + '/' + m.queueOffset;
    const resend = async body => {
      const x = await attempt(() => api('POST', '/api/console/dlq/' + C(group) + '/resend', body));
      if (x) { toast(t('dlq.resent', x.total)); box.querySelector('#dlq-done')?.remove(); box.prepend(h('p', { id: 'dlq-done' }, t('dlq.resent', x.total))); }
    };
    box.replaceChildren(
      A.full && h('div', { class: 'toolbar' },
        h('button', { class: 'secondary', id: 'dlq-resend-picked', onclick: () => resend({ messages: r.rows.filter(m => picked.has(key(m))).map(m => ({ brokerName: m.brokerName, queueId: m.queueId, queueOffset: m.queueOffset })) }) }, t('dlq.resendPicked')),
        h('button', { class: 'secondary', id: 'dlq-resend-all', onclick: () => { if (confirm(t('dlq.confirmAll', r.total))) resend({ all: true }); } }, t('dlq.resendAll'))),
      table([
        { key: 'pick', label: ' ', render: m => h('input', { type: 'checkbox', onchange: ev => { if (ev.target.checked) picked.add(key(m)); else picked.delete(key(m)); } }) },
        { key: 'msgId', label: 'message.id' }, { key: 'topic', label: 'topic' }, { key: 'keys', label: 'message.key' },
        { key: 'reconsumeTimes', label: 'dlq.retries' }, { key: 'storeTimestamp', label: 'time', render: m => fmtTime(m.storeTimestamp) },
        { key: 'messageBody', label: 'body.text', render: m => (m.messageBody || '').slice(0, 80) }], r.rows),
      pager(r.total, state.page, state.size, n => { state.page = n; load(); }));
  }
  load();
  return h('div', { class: 'card' }, h('h2', null, t('dlq')), box);
}

function resendSection(m) {
  const groups = (m.trackList || []).map(x => x.consumerGroup);
  const out = h('div');
  return h('div', null, h('h2', null, t('resend')), form([
    { name: 'groupName', label: 'group', required: true, value: groups[0] || '' },
    { name: 'clientId', label: 'resend.client' }], 'resend.do', async v => {
    const r = await attempt(() => api('POST', '/api/console/messages/resend', { topicName: m.topic, msgId: m.msgId, groupName: v.groupName, clientId: v.clientId || null }));
    if (r) out.replaceChildren(h('p', { id: 'resend-result' }, r.data.msgId ? t('resend.sent', r.data.msgId) : t('resend.pushed', r.data.consumeResult, r.data.spentTimeMills, r.data.remark || '')));
  }, 'resend-form'), out);
}

async function runningInfo(group, clientId, into) {
  const r = await attempt(() => api('GET', `/api/console/groups/${C(group)}/clients/${C(clientId)}`));
  if (!r) return;
  const d = r.data;
  into.replaceChildren(h('h2', null, t('running', clientId)),
    table([{ key: 'topic', label: 'topic' }, { key: 'brokerName', label: 'broker' }, { key: 'queueId', label: 'queue' }, { key: 'commitOffset', label: 'offset.consumer' }, { key: 'cachedMsgCount', label: 'running.cached' }], d.queues),
    table([{ key: '0', label: 'topic' }, { key: 'ok', label: 'running.okTps', render: s => fmtNum(s[1].consumeOkTPS ?? s[1].consumeOkTps) }, { key: 'rt', label: 'running.rt', render: s => fmtNum(s[1].consumeRT ?? s[1].consumeRt) }, { key: 'failed', label: 'running.failed', render: s => fmtNum(s[1].consumeFailedMsgs) }], Object.entries(d.status || {})),
    table([{ key: '0', label: 'key' }, { key: '1', label: 'value' }], Object.entries(d.properties || {})));
}

async function routeSection(topic) {
  const r = await api('GET', `/api/console/topics/${C(topic)}/route`).catch(() => null);
  if (!r) return h('p', { class: 'muted' }, t('route.none'));
  const d = r.data;
  return h('div', null,
    table([{ key: 'brokerName', label: 'broker' }, { key: 'cluster', label: 'clusterName' }, { key: 'brokerAddrs', label: 'address', render: b => Object.entries(b.brokerAddrs || {}).map(([id, a]) => id + ': ' + a).join(', ') }], d.brokerDatas || []),
    table([{ key: 'brokerName', label: 'broker' }, { key: 'readQueueNums', label: 'topic.readQueues' }, { key: 'writeQueueNums', label: 'topic.writeQueues' }, { key: 'perm', label: 'topic.perm' }], d.queueDatas || []));
}

async function producerInstances(group, topic, into) {
  const r = await attempt(() => api('GET', '/api/console/producers', undefined, { groupName: group, topicName: topic }));
  if (r) into.replaceChildren(h('h2', null, t('producer.instances', group)), table([{ key: 'clientId', label: 'client.id' }, { key: 'clientAddr', label: 'address' }, { key: 'language', label: 'client.language' }, { key: 'version', label: 'version' }], r.rows));
}

async function brokerTps(name, into) {
  const r = await attempt(() => api('GET', `/api/console/brokers/${C(name)}/tps`));
  if (!r) return;
  into.replaceChildren(h('div', { class: 'card' }, h('h2', null, t('overview.tps')), lineChart([
    { name: t('tps.in'), color: '#2f6fed', points: r.data.tps.map(p => [p.crtTime, p.inTPS]) },
    { name: t('tps.out'), color: '#1e9e63', points: r.data.tps.map(p => [p.crtTime, p.outTPS]) }], { empty: t('chart.empty') })),
    h('div', { class: 'card' }, h('h2', null, t('broker.groups')), table([{ key: 'g', label: 'group', render: g => String(g) }], r.data.groups, g => go('#/groups/' + C(g)))));
}

function traceSection(m) {
  const out = h('div', { id: 'trace-result' });
  const load = async topic => {
    const r = await attempt(() => api('GET', `/api/console/messages/${C(m.msgId)}/trace`, undefined, { traceTopic: topic }));
    if (!r) return;
    out.replaceChildren(r.rows.length ? table([
      { key: 'timestamp', label: 'time', render: e => fmtTime(e.timestamp) },
      { key: 'traceType', label: 'trace.step', render: e => t('trace.' + e.traceType) },
      { key: 'groupName', label: 'group' },
      { key: 'host', label: 'address', render: e => e.clientHost || e.storeHost || '—' },
      { key: 'costTime', label: 'trace.cost' },
      { key: 'success', label: 'status', render: e => e.success === null || e.success === undefined ? (e.transactionState || '—') : h('span', { class: 'tag ' + (e.success ? 'ok' : 'bad') }, e.success ? t('trace.ok') : t('trace.failed')) },
    ], r.rows) : h('p', { class: 'muted' }, t('trace.none', r.traceTopic)));
  };
  const f = form([{ name: 'traceTopic', label: 'trace.topic', value: 'RMQ_SYS_TRACE_TOPIC' }], 'search', v => load(v.traceTopic), 'trace-form');
  load('RMQ_SYS_TRACE_TOPIC');
  return h('div', null, h('h2', null, t('trace')), f, out);
}
