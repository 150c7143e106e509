// The login page: posts user and password, or the token, to /api/v1/login, which
// answers with a session cookie; then on to the page that was asked for.
'use strict';
(() => {
  const q = new URLSearchParams(location.search);
  // Only a page of this dashboard: the path parsed and normalised by the browser itself,
  // on this origin, and one of the pages (never "/\t/host", "/\\host" or "//host").
  const pages = ['/', '/live', '/overview', '/sales', '/acquisition', '/countries', '/funnel', '/sessions',
    '/content', '/conversion', '/customers', '/segments', '/pipeline', '/sql'];
  const safe = (raw) => {
    if (!raw || raw[0] !== '/' || /[\x00-\x20\x7f\\]/.test(raw)) return null;
    let u;
    try { u = new URL(raw, location.origin); } catch { return null; }
    if (u.origin !== location.origin || !pages.includes(u.pathname)) return null;
    return u.pathname + u.search + u.hash;
  };
  const next = safe(q.get('next')) || '/overview';
  const message = document.getElementById('message');
  if (q.get('failed')) message.textContent = 'That token is not valid.';
  for (const form of document.querySelectorAll('form')) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      message.textContent = '';
      const r = await fetch('/api/v1/login', { method: 'POST', body: new URLSearchParams(new FormData(form)) });
      if (r.ok) location.href = next;
      else message.textContent = (await r.json()).error;
    });
  }
})();
