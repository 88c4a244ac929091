// A stub of Zendesk's agent UI around one app iframe. It answers the ZAF SDK's postMessage protocol
// (as read in the zendesk_app_framework_sdk package): the handshake, get, invoke and request.
// Requests go to the stub's /proxy route, the server-side part that plays Zendesk's proxy.
(async function () {
  'use strict';

  const config = await (await fetch('/host/config')).json();
  const frame = document.getElementById('app-frame');
  const appOrigin = new URL(config.app_url).origin;

  // What the tests read back: every message from the app, every resize, every proxied request.
  const host = window.zafHost = { messages: [], resizes: [], requests: [], registered: false };

  function send(message) {
    frame.contentWindow.postMessage(JSON.stringify(message), appOrigin);
  }

  function register() {
    host.registered = true;
    send({ key: 'zaf.app.registered', message: { context: config.context, metadata: config.metadata } });
  }

  // get: one value per path, and an error per path it does not know, as ZAF answers.
  function get(paths) {
    const result = { errors: {} };
    paths.forEach((path) => {
      if (path in config.data) {
        result[path] = config.data[path];
      } else {
        result.errors[path] = { name: 'InvalidPath', message: 'is not a known path', path: path };
      }
    });
    return result;
  }

  function invoke(actions) {
    const result = { errors: {} };
    Object.keys(actions).forEach((name) => {
      if (name === 'resize') {
        const size = actions[name][0] || {};
        host.resizes.push(size);
        if (size.height) {
          frame.style.height = /^\d+$/.test(String(size.height)) ? size.height + 'px' : size.height;
        }
        result[name] = size;
      } else {
        result.errors[name] = { name: 'InvalidAction', message: 'is not supported by the stub host', path: name };
      }
    });
    return result;
  }

  // The answer arrives as a jQuery-style callback set, as ZAF passes it on: done(data, status, xhr)
  // or fail(xhr, status, error), the xhr carrying status, responseText and responseJSON.
  async function proxy(key, options) {
    host.requests.push(options);
    const answer = await (await fetch('/proxy', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(options)
    })).json();
    const xhr = { status: answer.status, statusText: answer.status_text, responseText: answer.body };
    if (/json/.test(answer.content_type || '')) {
      try {
        xhr.responseJSON = JSON.parse(answer.body);
      } catch (notJson) {
        // A broken body under a JSON type: leave responseJSON out and let the app read responseText.
      }
    }
    const ok = answer.status >= 200 && answer.status < 300;
    const args = ok
      ? [xhr.responseJSON !== undefined ? xhr.responseJSON : answer.body, 'success', xhr]
      : [xhr, 'error', answer.status_text];
    send({ key: 'zaf.' + key + (ok ? '.done' : '.fail'), message: { responseArgs: args } });
  }

  window.addEventListener('message', (event) => {
    if (event.origin !== appOrigin || event.source !== frame.contentWindow) {
      return;
    }
    const message = typeof event.data === 'string' ? JSON.parse(event.data) : event.data;
    host.messages.push(message);
    if (message.key === 'iframe.handshake') {
      register();
    } else if (message.request === 'get') {
      send({ id: message.id, result: get(message.params) });
    } else if (message.request === 'invoke') {
      send({ id: message.id, result: invoke(message.params) });
    } else if (/^request:\d+$/.test(message.key || '')) {
      proxy(message.key, message.message);
    }
    // iframe.on:/iframe.off: subscriptions need no answer: this host fires no framework events.
  });

  document.getElementById('app-name').textContent = config.metadata.name;
  frame.src = config.app_url + '?origin=' + encodeURIComponent(location.origin) +
    '&app_guid=' + encodeURIComponent(config.app_guid);
})();
