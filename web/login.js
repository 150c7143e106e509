// The login page: posts user and password, or the token, to /api/v1/login, which
// answers with a session cookie; then on to the page that was asked for.
'use strict';
(() => {
  const q = new URLSearchParams(location.search);
  const next = q.get('next') || '/overview';
  const message = document.getElementById('message');
  if (q.get('failed')) message.textContent = 'That token is not valid.';
  for (const form of document.querySelectorAll('form')) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      message.textContent = '';
      const r = await fetch('/api/v1/login', { method: 'POST', body: new URLSearchParams(new FormData(form)) });
      if (r.ok) location.href = next.startsWith('/') && !next.startsWith('//') ? next : '/overview';
      else message.textContent = (await r.json()).error;
    });
  }
})();
