// clickpulse Live page: one EventSource on /api/v1/live/stream, a snapshot a
// second; the charts and tables are redrawn from each snapshot. When the stream
// drops, the page says so, greys out, and the browser reconnects by itself. The
// stream runs only while the page is shown (window.cpLive.start / stop).
'use strict';
(() => {
const $ = (id) => document.getElementById(id);
const num = new Intl.NumberFormat('en-US');
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const clock = (ms) => new Date(ms).toISOString().slice(11, 19);
const minuteLabel = (ms) => new Date(ms).toISOString().slice(11, 16);
const steps = ['Page view', 'Product view', 'Cart', 'Checkout', 'Order'];

const state = { updates: 0, last: null, lastAt: 0, connected: false };
window.__clickpulse = state; // read by the browser tests

const theme = { backgroundColor: 'transparent', textStyle: { color: '#e6edf3' } };
const axis = { axisLine: { lineStyle: { color: '#3a4756' } }, axisLabel: { color: '#8b98a5' }, splitLine: { lineStyle: { color: '#222c37' } } };
const charts = {};
function chart(id, option) {
  const c = echarts.init($(id), null, { renderer: 'canvas' });
  c.setOption(Object.assign({ animation: false, grid: { left: 48, right: 16, top: 24, bottom: 28 }, tooltip: { trigger: 'axis' } }, theme, option));
  charts[id] = c;
  return c;
}

function initCharts () {
chart('c-eps', {
  xAxis: Object.assign({ type: 'category', data: [] }, axis),
  yAxis: Object.assign({ type: 'value', minInterval: 1 }, axis),
  series: [{ name: 'events/s', type: 'bar', data: [], itemStyle: { color: '#4cc2ff' }, barCategoryGap: '10%' }],
});
chart('c-minute', {
  legend: { textStyle: { color: '#8b98a5' }, top: 0 },
  xAxis: Object.assign({ type: 'category', data: [] }, axis),
  yAxis: [Object.assign({ type: 'value', name: '', minInterval: 1 }, axis), Object.assign({ type: 'value', minInterval: 1, splitLine: { show: false } }, axis)],
  series: [
    { name: 'page views', type: 'bar', data: [], itemStyle: { color: '#4cc2ff' } },
    { name: 'orders', type: 'line', yAxisIndex: 1, data: [], itemStyle: { color: '#3fb950' }, showSymbol: false },
  ],
});
chart('c-revenue', {
  xAxis: Object.assign({ type: 'category', data: [] }, axis),
  yAxis: Object.assign({ type: 'value' }, axis),
  series: [{ name: 'revenue', type: 'bar', data: [], itemStyle: { color: '#d29922' } }],
});
chart('c-funnel', {
  tooltip: { trigger: 'item' },
  series: [{ name: 'sessions', type: 'funnel', sort: 'none', left: '4%', width: '62%', top: 8, bottom: 8, minSize: '8%',
    label: { color: '#e6edf3', formatter: '{b}: {c}' }, data: [] }],
});
chart('c-countries', {
  grid: { left: 80, right: 16, top: 8, bottom: 24 },
  xAxis: Object.assign({ type: 'value', minInterval: 1 }, axis),
  yAxis: Object.assign({ type: 'category', inverse: true, data: [] }, axis),
  series: [{ name: 'events', type: 'bar', data: [], itemStyle: { color: '#a371f7' } }],
});
}
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));

function rows(id, list, cells) {
  const body = $(id).tBodies[0];
  body.replaceChildren(...list.map((e) => {
    const tr = document.createElement('tr');
    for (const v of cells(e)) {
      const td = document.createElement('td');
      td.textContent = v;
      td.title = v;
      tr.appendChild(td);
    }
    return tr;
  }));
}

function render(s) {
  const w = s.last_30m, today = s.today;
  const sec = s.per_second.events;
  const last10 = sec.slice(-11, -1).reduce((a, b) => a + b, 0) / 10;
  $('k-active').textContent = num.format(s.active_users);
  $('k-eps').textContent = num.format(Math.round(last10));
  $('k-pageviews').textContent = num.format(w.pageviews);
  $('k-orders').textContent = num.format(w.orders);
  $('k-revenue').textContent = money.format(w.revenue);
  $('k-aov').textContent = money.format(w.aov);
  $('k-conversion').textContent = (100 * w.conversion).toFixed(2) + ' %';
  $('k-today').textContent = num.format(today.orders);
  $('k-today-sub').textContent = 'orders · ' + money.format(today.revenue) + ' revenue';

  const secLabels = sec.map((_, i) => clock(s.per_second.start + i * 1000));
  charts['c-eps'].setOption({ xAxis: { data: secLabels }, series: [{ data: sec }] });
  const pm = s.per_minute, minLabels = pm.events.map((_, i) => minuteLabel(pm.start + i * 60000));
  charts['c-minute'].setOption({ xAxis: { data: minLabels }, series: [{ data: pm.pageviews }, { data: pm.orders }] });
  charts['c-revenue'].setOption({ xAxis: { data: minLabels }, series: [{ data: pm.revenue }] });
  const f = s[$('funnel-range').value].funnel;
  charts['c-funnel'].setOption({ series: [{ data: f.map((v, i) => ({ name: steps[i], value: v })) }] });
  charts['c-countries'].setOption({ yAxis: { data: w.countries.map((c) => c.key) }, series: [{ data: w.countries.map((c) => c.events) }] });

  rows('t-pages', w.top_pages, (e) => [e.key, num.format(e.n)]);
  rows('t-products', w.top_products, (e) => [e.key, num.format(e.views), num.format(e.units), money.format(e.revenue)]);
  rows('t-referrers', w.top_referrers, (e) => [e.key, num.format(e.n)]);
  $('footer').textContent = `${num.format(s.counted)} events counted · ${num.format(s.late)} late (beyond the allowed lateness) · ` +
    `${num.format(w.bots)} bot events in 30 min · updated ${clock(s.now)} UTC`;
}

function setStatus(kind, text) {
  const el = $('status');
  el.className = 'status ' + kind;
  el.textContent = text;
  $('live').classList.toggle('stale', kind !== 'live');
}

let es = null, watchdog = null;
function connect() {
  if (es) es.close();
  es = new EventSource('/api/v1/live/stream');
  es.addEventListener('open', () => { state.connected = true; setStatus('live', 'live'); });
  es.addEventListener('live', (m) => {
    const s = JSON.parse(m.data);
    state.last = s;
    state.lastAt = Date.now();
    state.updates++;
    state.connected = true;
    setStatus('live', 'live');
    render(s);
  });
  es.addEventListener('error', () => {
    state.connected = false;
    const since = state.lastAt ? ' — last update ' + clock(state.lastAt) + ' UTC' : '';
    setStatus(es.readyState === EventSource.CLOSED ? 'down' : 'connecting', 'connection lost, reconnecting…' + since);
    if (es.readyState === EventSource.CLOSED) setTimeout(() => es && connect(), 2000);
  });
}
$('funnel-range').addEventListener('change', () => state.last && render(state.last));

window.cpLive = {
  start () {
    if (!charts['c-eps']) initCharts();
    Object.values(charts).forEach((c) => c.resize());
    $('status').hidden = false;
    connect();
    watchdog = setInterval(() => { // a stream that stays silent is a dropped one, too
      if (state.connected && state.lastAt && Date.now() - state.lastAt > 5000) setStatus('connecting', 'no update for ' + Math.round((Date.now() - state.lastAt) / 1000) + ' s…');
    }, 1000);
  },
  stop () {
    if (es) es.close();
    es = null;
    clearInterval(watchdog);
    state.connected = false;
    $('status').hidden = true;
  },
};
})();
