// The calls every Outage Desk page makes to its service: the session the service put in the page goes
// with each one, and is renewed a minute before it expires for as long as the page stays open. Same
// origin as the page: no proxy, no CORS. Paths are relative to the page's URL ({service_url}/sidebar or
// /incidents), so a service behind a path prefix works too.
window.OutageDeskService = (function () {
  'use strict';

  // `words()`: the page's translations now (they change once Zendesk says the agent's language);
  // `onError(message)`: how the page shows a renewal that failed.
  function connect(words, onError) {
    const meta = document.querySelector('meta[name="outage-desk-session"]');
    let session = meta.content;
    let renewal = null;

    async function call(method, path, body, accept) {
      const options = {
        method: method,
        headers: { Authorization: 'Bearer ' + session, Accept: accept || 'application/json' }
      };
      if (body !== undefined) {
        options.headers['Content-Type'] = 'application/json';
        options.body = JSON.stringify(body);
      }
      let response;
      try {
        response = await fetch(path.replace(/^\//, ''), options);
      } catch (networkError) {
        throw new Error(words().t('serviceUnreachable', { status: '?' }));
      }
      const text = await response.text();
      if (accept === 'text/html' && response.ok) {
        return text;
      }
      let answer = null;
      try {
        answer = text ? JSON.parse(text) : null;
      } catch (notJson) {
        answer = null;
      }
      if (!response.ok) {
        const error = new Error(answer && typeof answer.error === 'string'
          ? answer.error
          : words().t('serviceUnreachable', { status: response.status }));
        error.answer = answer; // what the service says besides its reason, e.g. next_allowed_at
        throw error;
      }
      return answer;
    }

    function renewIn(seconds) {
      clearTimeout(renewal);
      // A minute early, and never in a tight loop.
      renewal = setTimeout(async function () {
        try {
          const answer = await call('POST', 'api/session');
          session = answer.token;
          renewIn(answer.expires_in);
        } catch (error) {
          onError(error.message);
        }
      }, Math.max(seconds - 60, 30) * 1000);
    }

    renewIn(Number(meta.dataset.expiresIn) || 600);
    return call;
  }

  return { connect: connect };
})();
