// clickpulse dashboard: one page per path (/overview, /sales, …), drawn from
// GET /api/v1/pages/NAME with the global filters — date range, country, device,
// source — which the URL's query carries, so a view can be shared as a link.
// Every figure shown keeps its exact value in data-value (read by the tests).
'use strict';
(() => {
const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
};
const nf = new Intl.NumberFormat('en-US');
const mf = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const df = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const fmt = {
  int: (v) => v == null ? '–' : nf.format(v),
  money: (v) => v == null ? '–' : mf.format(v),
  pct: (v) => v == null ? '–' : (100 * v).toFixed(2) + ' %',
  dec: (v) => v == null ? '–' : df.format(v),
  secs: (v) => v == null ? '–' : v < 90 ? df.format(v) + ' s' : df.format(v / 60) + ' min',
  text: (v) => v == null ? '–' : String(v),
};
const DIMS = ['country', 'device', 'source'];
const view = { page: null, params: {}, data: null, loaded: 0, error: null, me: null, span: null };
window.__clickpulseView = view; // read by the browser tests

// ---- charts ----
const theme = { backgroundColor: 'transparent', textStyle: { color: '#e6edf3' } };
const axis = { axisLine: { lineStyle: { color: '#3a4756' } }, axisLabel: { color: '#8b98a5' }, splitLine: { lineStyle: { color: '#222c37' } } };
const colors = ['#4cc2ff', '#3fb950', '#d29922', '#a371f7', '#f85149', '#56d4dd', '#e3b341', '#db61a2'];
let charts = [];
function chart (parent, option, tall) {
  const box = el('div', { class: tall ? 'chart tall' : 'chart' });
  parent.append(box);
  const c = echarts.init(box, null, { renderer: 'canvas' });
  c.setOption(Object.assign({ animation: false, color: colors, grid: { left: 56, right: 24, top: 30, bottom: 28 }, tooltip: { trigger: 'axis' } }, theme, option));
  charts.push(c);
  return c;
}
const legend = { textStyle: { color: '#8b98a5' }, top: 0 };
const xcat = (data) => Object.assign({ type: 'category', data }, axis);
const yval = (extra = {}) => Object.assign({ type: 'value' }, axis, extra);
function lines (parent, rows, x, series, opts = {}) {
  return chart(parent, {
    legend,
    xAxis: xcat(rows.map((r) => r[x])),
    yAxis: opts.twoAxes ? [yval({ minInterval: 1 }), yval({ splitLine: { show: false } })] : yval(),
    series: series.map((s, i) => ({ name: s.label, type: s.type || 'line', yAxisIndex: opts.twoAxes ? (s.axis ?? (i > 0 ? 1 : 0)) : 0, showSymbol: false, data: rows.map((r) => r[s.key]) })),
  });
}
function bars (parent, rows, label, value, name, horizontal) {
  const cat = rows.map((r) => r[label]), val = rows.map((r) => r[value]);
  return chart(parent, horizontal
    ? { grid: { left: 110, right: 24, top: 8, bottom: 24 }, xAxis: yval(), yAxis: Object.assign(xcat(cat), { inverse: true }), series: [{ name, type: 'bar', data: val }] }
    : { xAxis: xcat(cat), yAxis: yval(), series: [{ name, type: 'bar', data: val }] });
}

// ---- building blocks ----
function card (title, sub, wide) {
  const body = el('div', { class: 'body' });
  const c = el('section', { class: wide ? 'card wide' : 'card' }, el('h2', { text: title }, sub ? el('small', { text: sub }) : ''), body);
  $('view').querySelector('.grid').append(c);
  return body;
}
function kpis (items) {
  const row = el('section', { class: 'kpis' });
  for (const k of items) {
    const v = el('span', { class: 'value', text: fmt[k.fmt || 'int'](k.value), 'data-kpi': k.key, 'data-value': k.value == null ? '' : String(k.value) });
    const tile = el('div', { class: 'kpi' }, el('span', { class: 'label', text: k.label }), v);
    if ('prev' in k) {
      const d = k.prev ? (k.value - k.prev) / Math.abs(k.prev) : null;
      const cls = d == null ? 'sub' : d >= 0 ? 'sub up' : 'sub down';
      tile.append(el('span', { class: cls, 'data-change': k.key, text: d == null ? 'no previous period data' : (d >= 0 ? '▲ ' : '▼ ') + (100 * Math.abs(d)).toFixed(1) + ' % vs ' + fmt[k.fmt || 'int'](k.prev) }));
    } else if (k.sub) {
      tile.append(el('span', { class: 'sub', text: k.sub }));
    }
    row.append(tile);
  }
  $('view').prepend(row);
}
function table (parent, name, rows, columns) {
  const head = el('tr', {}, ...columns.map((c) => el('th', { text: c.label })));
  const body = el('tbody');
  for (const r of rows) {
    body.append(el('tr', {}, ...columns.map((c) => {
      const v = r[c.key];
      return el('td', { text: fmt[c.fmt || 'text'](v), title: v == null ? '' : String(v), 'data-col': c.key, 'data-value': v == null ? '' : String(v) });
    })));
  }
  const t = el('table', { 'data-table': name }, el('thead', {}, head), body);
  parent.append(rows.length ? el('div', { class: 'scroll' }, t) : el('p', { class: 'empty', text: 'no data in this range' }));
  return t;
}
const col = (key, label, f) => ({ key, label, fmt: f });

// ---- the pages ----
const pages = {
  overview: { title: 'Overview', render (d) {
    const [cur, prev] = ['current', 'previous'].map((p) => d.kpis.find((r) => r.period === p) || {});
    const k = (key, label, f) => ({ key, label, fmt: f, value: cur[key], prev: prev[key] });
    kpis([k('sessions', 'Sessions'), k('visitors', 'Visitors'), k('orders', 'Orders'), k('revenue', 'Revenue', 'money'),
      k('avg_order_value', 'Avg order value', 'money'), k('conversion', 'Conversion', 'pct'), k('buyers', 'Buyers'), k('new_customers', 'New customers')]);
    lines(card('Sessions and orders per day', '', true), d.daily, 'day', [{ key: 'sessions', label: 'sessions', type: 'bar' }, { key: 'orders', label: 'orders' }], { twoAxes: true });
    lines(card('Revenue per day', '', true), d.daily, 'day', [{ key: 'revenue', label: 'revenue', type: 'bar' }]);
  } },
  sales: { title: 'Sales', render (d) {
    const t = d.totals[0] || {};
    kpis([{ key: 'orders', label: 'Orders', value: t.orders }, { key: 'revenue', label: 'Revenue', fmt: 'money', value: t.revenue },
      { key: 'avg_order_value', label: 'Avg order value', fmt: 'money', value: t.avg_order_value }, { key: 'units', label: 'Units', value: t.units },
      { key: 'customers', label: 'Customers', value: t.customers }, { key: 'refunds', label: 'Refunds', fmt: 'money', value: t.refunds, sub: `${fmt.int(t.refund_count)} refunds` },
      { key: 'net_revenue', label: 'Net revenue', fmt: 'money', value: t.net_revenue }]);
    lines(card('Revenue and orders per day', 'gross revenue, refunds by the day they were made, orders', true), d.daily, 'day', [{ key: 'revenue', label: 'revenue', type: 'bar' },
      { key: 'refunds', label: 'refunds', type: 'bar', axis: 0 }, { key: 'orders', label: 'orders' }], { twoAxes: true });
    table(card('Daily sales summary', '', true), 'daily', [...d.daily].reverse(), [col('day', 'day'), col('orders', 'orders', 'int'),
      col('revenue', 'revenue', 'money'), col('avg_order_value', 'avg order value', 'money'), col('units', 'units', 'int'), col('customers', 'customers', 'int'),
      col('refund_count', 'refunds', 'int'), col('refunds', 'refunded', 'money'), col('net_revenue', 'net revenue', 'money')]);
  } },
  acquisition: { title: 'Acquisition', render (d) {
    kpis([{ key: 'new_customers', label: 'New customers', value: (d.totals[0] || {}).new_customers }]);
    lines(card('New customers by day', '', true), d.daily, 'day', [{ key: 'new_customers', label: 'new customers', type: 'bar' }]);
    bars(card('New customers by month'), d.monthly, 'month', 'new_customers', 'new customers');
    table(card('By source / medium / campaign', 'of their first session'), 'campaigns', d.campaigns, [col('utm_source', 'source'), col('utm_medium', 'medium'),
      col('utm_campaign', 'campaign'), col('new_customers', 'new customers', 'int')]);
  } },
  countries: { title: 'Countries', render (d) {
    bars(card('Revenue by country', 'top 15'), d.countries.slice(0, 15), 'country', 'revenue', 'revenue', true);
    bars(card('Sessions by country', 'top 15'), [...d.countries].sort((a, b) => b.sessions - a.sessions).slice(0, 15), 'country', 'sessions', 'sessions', true);
    table(card('The market by country', '', true), 'countries', d.countries, [col('country', 'country'), col('orders', 'orders', 'int'), col('revenue', 'revenue', 'money'),
      col('customers', 'customers', 'int'), col('avg_order_value', 'avg order value', 'money'), col('sessions', 'sessions', 'int'), col('conversion', 'conversion', 'pct')]);
  } },
  funnel: { title: 'Funnel', render (d) {
    chart(card('Funnel', 'sessions reaching each step, in order'), { tooltip: { trigger: 'item' }, series: [{ type: 'funnel', sort: 'none', left: '5%', width: '70%', top: 8, bottom: 8, minSize: '6%',
      label: { color: '#e6edf3', formatter: '{b}: {c}' }, data: d.steps.map((s) => ({ name: s.name, value: s.sessions })) }] });
    table(card('Steps'), 'steps', d.steps, [col('name', 'step'), col('sessions', 'sessions', 'int'), col('of_start', 'of sessions', 'pct'),
      col('of_previous', 'of previous step', 'pct'), col('dropped', 'dropped', 'int')]);
    const cols = (k, l) => [col(k, l), col('sessions', 'sessions', 'int'), col('product_view', 'product view', 'int'), col('cart', 'cart', 'int'),
      col('checkout', 'checkout', 'int'), col('purchase', 'purchase', 'int'), col('conversion', 'conversion', 'pct')];
    table(card('By device', '', true), 'by_device', d.by_device, cols('device', 'device'));
    table(card('By source', '', true), 'by_source', d.by_source, cols('source', 'source'));
  } },
  sessions: { title: 'Sessions', render (d) {
    const t = d.totals[0] || {};
    kpis([{ key: 'sessions', label: 'Sessions', value: t.sessions }, { key: 'visitors', label: 'Visitors', value: t.visitors },
      { key: 'avg_duration_s', label: 'Avg duration', fmt: 'secs', value: t.avg_duration_s }, { key: 'median_duration_s', label: 'Median duration', fmt: 'secs', value: t.median_duration_s },
      { key: 'avg_events', label: 'Events / session', fmt: 'dec', value: t.avg_events }, { key: 'bounce_rate', label: 'Bounce rate', fmt: 'pct', value: t.bounce_rate, sub: 'one page view' }]);
    lines(card('Daily, weekly and monthly active people', 'trailing 1, 7 and 30 days', true), d.active, 'day',
      [{ key: 'dau', label: 'DAU' }, { key: 'wau', label: 'WAU' }, { key: 'mau', label: 'MAU' }]);
    bars(card('Session duration'), d.duration, 'label', 'sessions', 'sessions');
    bars(card('Events per session'), d.events.filter((b) => b.bucket > 0), 'label', 'sessions', 'sessions');
  } },
  content: { title: 'Content', render (d) {
    chart(card('Categories', 'product views and units bought'), { legend, xAxis: xcat(d.categories.map((c) => c.category)), yAxis: [yval(), yval({ splitLine: { show: false } })],
      series: [{ name: 'product views', type: 'bar', data: d.categories.map((c) => c.product_views) }, { name: 'units', type: 'bar', yAxisIndex: 1, data: d.categories.map((c) => c.units) }] });
    table(card('Categories'), 'categories', d.categories, [col('category', 'category'), col('product_views', 'views', 'int'), col('viewers', 'viewers', 'int'),
      col('units', 'units', 'int'), col('revenue', 'revenue', 'money'), col('units_per_view', 'units / view', 'dec')]);
    table(card('Pages', 'top 50 by page views'), 'pages', d.pages, [col('page_path', 'page'), col('pageviews', 'page views', 'int'), col('visitors', 'visitors', 'int')]);
    table(card('Products', 'top 50 by revenue'), 'products', d.products, [col('name', 'product'), col('views', 'views', 'int'), col('units', 'units', 'int'),
      col('revenue', 'revenue', 'money'), col('units_per_view', 'units / view', 'dec')]);
  } },
  conversion: { title: 'Conversion', render (d) {
    bars(card('Conversion by source'), d.by_source, 'source', 'conversion', 'conversion');
    bars(card('Conversion by device'), d.by_device, 'device', 'conversion', 'conversion');
    const cols = (k, l) => [col(k, l), col('sessions', 'sessions', 'int'), col('converted', 'converted', 'int'), col('conversion', 'conversion', 'pct'),
      col('orders', 'orders', 'int'), col('revenue', 'revenue', 'money'), col('revenue_per_session', 'revenue / session', 'money')];
    table(card('By source', '', true), 'by_source', d.by_source, cols('source', 'source'));
    table(card('By device', '', true), 'by_device', d.by_device, cols('device', 'device'));
    table(card('By landing page', 'top 30 by sessions', true), 'by_landing', d.by_landing, [col('landing_path', 'landing page'), col('sessions', 'sessions', 'int'),
      col('converted', 'converted', 'int'), col('conversion', 'conversion', 'pct')]);
  } },
  customers: { title: 'Customers', render (d) {
    chart(card('Segments', 'customers seen in the range, from dim_customers'), { tooltip: { trigger: 'item' }, legend,
      series: [{ type: 'pie', radius: ['35%', '70%'], top: 20, label: { color: '#e6edf3' }, data: d.segments.map((s) => ({ name: s.segment, value: s.customers })) }] });
    table(card('Segments'), 'segments', d.segments, [col('segment', 'segment'), col('customers', 'customers', 'int'), col('share', 'share', 'pct'),
      col('orders', 'orders', 'int'), col('revenue', 'revenue', 'money'), col('avg_order_value', 'avg order value', 'money')]);
    const cohorts = [...new Set(d.cohorts.map((c) => c.cohort))], months = Math.max(0, ...d.cohorts.map((c) => c.months_since)) + 1;
    chart(card('Retention cohorts', 'customers by month of first purchase, buying again n months later', true), {
      tooltip: { position: 'top', formatter: (p) => `${cohorts[p.value[1]]} +${p.value[0]} months: ${(100 * p.value[2]).toFixed(1)} %` },
      grid: { left: 90, right: 24, top: 10, bottom: 60 },
      xAxis: Object.assign(xcat([...Array(months).keys()].map(String)), { name: 'months since first purchase', nameLocation: 'middle', nameGap: 26 }),
      yAxis: Object.assign(xcat(cohorts), { inverse: true }),
      visualMap: { min: 0, max: 1, calculable: false, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 120, textStyle: { color: '#8b98a5' }, inRange: { color: ['#182029', '#4cc2ff'] } },
      series: [{ type: 'heatmap', data: d.cohorts.map((c) => [c.months_since, cohorts.indexOf(c.cohort), c.retention]), label: { show: months <= 12, color: '#e6edf3', formatter: (p) => Math.round(100 * p.value[2]) } }],
    }, true);
    table(card('Top customers', 'by total spent', true), 'top', d.top, [col('user_id', 'customer'), col('name', 'name'), col('country', 'country'),
      col('segment', 'segment'), col('orders', 'orders', 'int'), col('total_spent', 'total spent', 'money'), col('last_purchase', 'last purchase')]);
  } },
  segments: { title: 'Segments', render (d) {
    const snap = d.profiles[0] && d.profiles[0].snapshot;
    if (!snap) { card('Segments', '', true).append(el('p', { class: 'empty', text: 'no segmentation snapshot in this range: run "clickpulse segment" or the segment job' })); return; }
    table(card('Cluster profiles', `K-Means snapshot ${snap}`, true), 'profiles', d.profiles, [col('label', 'segment'), col('customers', 'customers', 'int'),
      col('share', 'share of all', 'pct'), col('recency_days', 'recency (days)', 'dec'), col('orders', 'orders', 'dec'), col('revenue', 'revenue', 'money'),
      col('avg_order_value', 'avg order value', 'money'), col('sessions_per_week', 'sessions / week', 'dec'), col('conversion_rate', 'conversion', 'pct'),
      col('pages_per_session', 'pages / session', 'dec'), col('cart_abandonment', 'cart abandonment', 'pct')]);
    const m = d.movement, from = m[0] && m[0].from_snapshot;
    const a = (r) => `${r.from_label} (${r.from_cluster == null ? 'new' : r.from_cluster}) · before`, b = (r) => `${r.to_label} (${r.to_cluster}) · now`;
    const names = [...new Set([...m.map(a), ...m.map(b)])];
    chart(card('Movement between snapshots', from ? `${from} → ${snap}` : `new customers → ${snap}`, true), { tooltip: { trigger: 'item' },
      series: [{ type: 'sankey', left: 8, right: 160, top: 8, bottom: 8, nodeGap: 10, label: { color: '#e6edf3' }, lineStyle: { color: 'source', opacity: 0.35 },
        data: names.map((name) => ({ name })), links: m.map((r) => ({ source: a(r), target: b(r), value: r.customers })) }] }, true);
    table(card('Movement'), 'movement', m, [col('from_label', 'from'), col('to_label', 'to'), col('customers', 'customers', 'int')]);
    table(card('Churn risk', 'latest churn scores in the range'), 'churn', d.churn, [col('risk', 'risk'), col('customers', 'customers', 'int'), col('avg_score', 'avg score', 'dec')]);
  } },
  pipeline: { title: 'Pipeline', dims: false, render (d) {
    pipelineLive();
    lines(card('Events in and out per hour', 'received; written to silver; duplicates; rejected', true), d.throughput, 'hour',
      [{ key: 'received', label: 'received' }, { key: 'written', label: 'written' }, { key: 'duplicates', label: 'duplicates' }, { key: 'rejected', label: 'rejected' }]);
    table(card('Dead letters by reason'), 'dead_letters', d.dead_letters, [col('reason', 'reason'), col('events', 'events', 'int'), col('last_seen', 'last seen'), col('last_detail', 'last detail')]);
    table(card('Job runs', 'latest 50'), 'jobs', d.jobs, [col('job', 'job'), col('started_at', 'started'), col('status', 'status'), col('rows', 'rows', 'int'), col('error', 'error')]);
    card('Consumer and sink lag', 'now').id = 'lag-body';
  } },
  sql: { title: 'SQL', dims: false, dates: false, render: renderSql },
};

// ---- the Pipeline page's live figures, from /api/v1/metrics every 2 s ----
let metricsTimer = null;
function parseMetrics (text) {
  const out = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m) out.push({ name: m[1], labels: Object.fromEntries([...(m[2] || '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]])), value: Number(m[3]) });
  }
  return out;
}
const sum = (ms, name) => ms.filter((m) => m.name === name).reduce((a, m) => a + m.value, 0);
function pipelineLive () {
  const row = el('section', { class: 'kpis' });
  const tiles = {};
  for (const [key, label] of [['in', 'Events in / s'], ['out', 'Events out / s'], ['queue', 'Queued events'], ['rejected', 'Rejected (since start)'], ['duplicates', 'Duplicates (since start)']]) {
    tiles[key] = el('span', { class: 'value', text: '–', 'data-kpi': key, 'data-value': '' });
    row.append(el('div', { class: 'kpi' }, el('span', { class: 'label', text: label }), tiles[key]));
  }
  $('view').prepend(row);
  let last = null;
  const tick = async () => {
    const r = await fetch('/api/v1/metrics');
    if (!r.ok) return;
    const ms = parseMetrics(await r.text()), now = Date.now();
    const c = { out: sum(ms, 'clickpulse_events_accepted_total'), dup: sum(ms, 'clickpulse_events_duplicate_total'), rej: sum(ms, 'clickpulse_events_rejected_total') };
    c.in = c.out + c.dup + c.rej;
    const set = (k, v) => { tiles[k].textContent = fmt.int(v); tiles[k].dataset.value = String(v); };
    if (last) {
      const s = Math.max(0.001, (now - last.at) / 1000);
      set('in', Math.round((c.in - last.in) / s));
      set('out', Math.round((c.out - last.out) / s));
    }
    set('queue', sum(ms, 'clickpulse_queue_events'));
    set('rejected', c.rej);
    set('duplicates', c.dup);
    last = Object.assign({ at: now }, c);
    const lag = ms.filter((m) => /_lag$/.test(m.name)).map((m) => ({ what: m.name.replace(/^clickpulse_/, '') + ' ' + Object.values(m.labels).join(' '), lag: m.value }));
    const box = $('lag-body');
    if (!box) return;
    box.replaceChildren();
    table(box, 'lag', lag.length ? lag : [{ what: 'no Kafka source or sinks configured', lag: null }], [col('what', 'what'), col('lag', 'lag', 'int')]);
  };
  tick();
  metricsTimer = setInterval(tick, 2000);
}

// ---- SQL ----
function renderSql () {
  const box = card('SQL', `read-only; at most ${fmt.int(view.me.query_max_rows)} rows; stopped after ${view.me.query_timeout_ms / 1000} s`, true);
  const area = el('textarea', { id: 'sql-text', spellcheck: 'false', rows: '8' });
  area.value = sessionStorage.getItem('cp-sql') || 'SELECT event_date, count(*) AS events\nFROM events\nGROUP BY 1\nORDER BY 1 DESC\nLIMIT 30';
  const run = el('button', { id: 'sql-run', type: 'button', text: 'Run' });
  const csv = el('button', { id: 'sql-csv', type: 'button', text: 'Download CSV' });
  const info = el('span', { id: 'sql-info', class: 'note' });
  const out = el('div', { id: 'sql-out', class: 'sql-out' });
  box.append(area, el('div', { class: 'row' }, run, csv, info), out);
  const call = (format) => fetch(`/api/v1/query?format=${format}&max_rows=${view.me.query_max_rows}&wait_ms=0`, { method: 'POST', body: area.value, headers: { 'Content-Type': 'text/plain', 'X-CSRF-Token': view.me.csrf } });
  run.onclick = async () => {
    sessionStorage.setItem('cp-sql', area.value);
    info.textContent = 'running…';
    out.replaceChildren();
    const t0 = performance.now(), r = await call('json'), body = await r.json();
    if (!r.ok) { info.textContent = ''; out.append(el('pre', { class: 'error', id: 'sql-error', text: body.error })); view.loaded++; return; }
    const total = Number(r.headers.get('X-Clickpulse-Rows'));
    info.textContent = `${fmt.int(body.length)} of ${fmt.int(total)} rows · ${Math.round(performance.now() - t0)} ms`;
    view.data = { result: body, total };
    const keys = body.length ? Object.keys(body[0]) : [];
    table(out, 'result', body, keys.map((k) => col(k, k, 'text')));
    view.loaded++;
  };
  csv.onclick = async () => {
    const r = await call('csv');
    if (!r.ok) { info.textContent = (await r.json()).error; return; }
    const a = el('a', { href: URL.createObjectURL(await r.blob()), download: 'clickpulse-query.csv' });
    document.body.append(a);
    a.click();
    a.remove();
  };
}

// ---- filters, URL and navigation ----
const dayOf = (s) => new Date(s + 'T00:00:00Z');
const iso = (d) => d.toISOString().slice(0, 10);
const addDays = (s, n) => iso(new Date(dayOf(s).getTime() + n * 86400000));
// The day presets count back from: the last day with events, except on the Pipeline page,
// whose figures are the engine's own by the time it received them (today's, even when no
// event of today has come yet).
const lastDay = (page) => (page !== 'pipeline' && view.span && view.span.last_day) || iso(new Date());
function readUrl () {
  const q = new URLSearchParams(location.search), p = {};
  for (const k of ['from', 'to', ...DIMS]) if (q.get(k)) p[k] = q.get(k);
  const last = lastDay(pageOf(location.pathname));
  if (!p.to) p.to = last;
  if (!p.from) p.from = addDays(p.to, -29);
  return p;
}
function query (p) {
  const q = new URLSearchParams();
  for (const k of ['from', 'to', ...DIMS]) if (p[k]) q.set(k, p[k]);
  return q.toString();
}
function pageOf (path) {
  const name = path.replace(/^\/+|\/+$/g, '');
  return name === 'live' || pages[name] ? name : 'overview';
}
function go (page, params, push) {
  const url = '/' + page + '?' + query(params);
  if (push) history.pushState(null, '', url);
  else history.replaceState(null, '', url);
  show();
}
function syncFilters (page, p) {
  $('f-from').value = p.from;
  $('f-to').value = p.to;
  for (const d of DIMS) $('f-' + d).value = p[d] || '';
  const spec = pages[page] || {};
  const dims = page !== 'live' && spec.dims !== false, dates = page !== 'live' && spec.dates !== false;
  $('filters').hidden = !dates;
  for (const d of DIMS) $('f-' + d).disabled = !dims;
  $('f-note').textContent = dates && !dims ? 'country, device and source do not apply here' : '';
  for (const a of $('nav').querySelectorAll('a')) {
    a.classList.toggle('on', a.dataset.page === page);
    a.href = '/' + a.dataset.page + '?' + query(p);
  }
}
let seq = 0;
async function show () {
  const page = pageOf(location.pathname), p = readUrl(), my = ++seq;
  view.page = page;
  view.params = p;
  view.data = null;
  view.error = null;
  syncFilters(page, p);
  charts.forEach((c) => c.dispose());
  charts = [];
  clearInterval(metricsTimer);
  $('live').hidden = page !== 'live';
  $('view').hidden = page === 'live';
  document.title = 'clickpulse · ' + (page === 'live' ? 'Live' : pages[page].title);
  if (page === 'live') { window.cpLive.start(); view.loaded++; return; }
  window.cpLive.stop();
  $('view').replaceChildren(el('section', { class: 'grid' }));
  if (page === 'sql') { renderSql(); view.loaded++; return; }
  $('view').classList.add('loading');
  const r = await fetch(`/api/v1/pages/${page}?` + query(p));
  if (my !== seq) return; // a newer view was asked for meanwhile
  $('view').classList.remove('loading');
  const body = await r.json();
  if (!r.ok) {
    view.error = body.error;
    card('Error', '', true).append(el('pre', { class: 'error', text: body.error }));
  } else {
    view.data = body.datasets;
    const missing = Object.keys(body.errors);
    for (const k of missing) body.datasets[k] = [];
    pages[page].render(body.datasets);
    if (missing.length) {
      view.error = body.errors;
      card('Not available', missing.join(', '), true).append(...missing.map((k) => el('pre', { class: 'error', text: `${k}: ${body.errors[k].split('\n')[0]}` })));
    }
  }
  view.loaded++;
}

function onFilter (e) {
  const p = Object.assign({}, view.params);
  if (e.target.id === 'f-range') {
    const v = e.target.value, last = lastDay(view.page);
    if (!v) return;
    p.to = last;
    p.from = v === 'all' ? ((view.span && view.span.first_day) || last) : addDays(last, 1 - Number(v));
  } else {
    p.from = $('f-from').value || p.from;
    p.to = $('f-to').value || p.to;
    for (const d of DIMS) p[d] = $('f-' + d).value;
  }
  $('f-range').value = '';
  go(view.page, p, true);
}

async function start () {
  const me = await fetch('/api/v1/me');
  if (me.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search); return; }
  view.me = await me.json();
  $('user').textContent = view.me.user;
  const f = await (await fetch('/api/v1/filters')).json();
  view.span = f.datasets.span[0] || null;
  for (const d of DIMS) {
    const s = $('f-' + d);
    for (const v of f.datasets.values.filter((r) => r.dim === d)) s.append(el('option', { value: v.value, text: `${v.value} (${fmt.int(v.sessions)})` }));
  }
  $('filters').addEventListener('change', onFilter);
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('nav').addEventListener('click', (e) => {
    const a = e.target.closest('a');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    go(a.dataset.page, view.params, true);
  });
  $('logout').onclick = async () => { await fetch('/api/v1/logout', { method: 'POST', headers: { 'X-CSRF-Token': view.me.csrf } }); location.href = '/login'; };
  window.addEventListener('popstate', show);
  window.addEventListener('resize', () => charts.forEach((c) => c.resize()));
  go(pageOf(location.pathname), readUrl(), false);
}
start();
})();
