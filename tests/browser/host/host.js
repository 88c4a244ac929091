// A stub of Zendesk's agent UI around one app iframe. It answers the ZAF SDK's postMessage protocol
// (as read in the zendesk_app_framework_sdk package): the handshake, get and invoke. It loads a
// signedUrls app as Zendesk does: a form POST of the token Zendesk signed for the agent into the frame.
(async function () {
  'use strict';

  const config = await (await fetch('/host/config')).json();
  const frame = document.getElementById('app-frame');
  // A nav bar app gets the main pane, not the apps panel's 320px: the config says how big.
  if (config.pane) {
    document.getElementById('apps-panel').style.width = (config.pane.width + 20) + 'px';
    frame.style.width = config.pane.width + 'px';
    frame.style.height = config.pane.height + 'px';
  }
  const appOrigin = new URL(config.app_url).origin;

  // What the tests read back: every message from the app, every resize, every request it asked the
  // proxy for (none: the app calls its own service directly).
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
      host.requests.push(message.message);
    }
    // iframe.on:/iframe.off: subscriptions need no answer: this host fires no framework events.
  });

  document.getElementById('app-name').textContent = config.metadata.name;
  const form = document.createElement('form');
  form.method = 'post';
  form.target = frame.name;
  form.action = config.app_url + '?origin=' + encodeURIComponent(location.origin) +
    '&app_guid=' + encodeURIComponent(config.app_guid);
  const token = document.createElement('input');
  token.type = 'hidden';
  token.name = 'token';
  token.value = config.token;
  form.appendChild(token);
  document.body.appendChild(form);
  form.submit();
})();
