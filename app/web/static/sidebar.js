// Outage Desk's ticket sidebar: shows the running outage and the agent script, and lets the agent
// declare, attach/detach, resolve and notify. The service itself served this page, after checking
// the token Zendesk signed for this agent (the app's signedUrls); every call goes back to the
// service with the session it put in the page, and the service reads the agent's role from Zendesk.
// Nothing this script says about who the agent is counts: the session does.
(function () {
  'use strict';

  // Words that say nothing about what broke, in the languages customers write in; the declare
  // form skips them when it suggests a search query from the ticket subject.
  const STOP_WORDS = new Set([
    'the', 'and', 'for', 'not', 'with', 'from', 'your', 'our', 'you', 'are', 'was', 'can', 'cannot',
    'help', 'please', 'urgent', 'issue', 'problem', 'again', 'still', 'this', 'that', 'does', "doesn't",
    'les', 'des', 'une', 'pas', 'est', 'sur', 'pour', 'avec', 'dans', 'plus', 'nous', 'vous', 'problème',
    'aide', 'urgence', 'impossible', 'los', 'las', 'una', 'por', 'para', 'con', 'que', 'del', 'ayuda',
    'der', 'die', 'das', 'und', 'ist', 'nicht', 'mit', 'ein', 'eine', 'hilfe', 'dringend',
    'uma', 'com', 'não', 'ajuda', 'для', 'что', 'это', 'нет', 'как', 'все', 'помощь', 'срочно'
  ]);

  const client = ZAFClient.init();
  const el = (id) => document.getElementById(id);
  let i18n = window.OutageDeskI18n.forLocale('en');
  let zendesk = null; // ticket, agent and account, as Zendesk gives them
  let state = null; // the service's last word: {incident, ticket, suspected, status_resolve, user}

  client.on('app.registered', async function () {
    try {
      const data = await client.get(['ticket.id', 'ticket.subject', 'currentUser']);
      zendesk = { ticketId: data['ticket.id'], subject: data['ticket.subject'] || '', user: data.currentUser };
      i18n = window.OutageDeskI18n.forLocale(zendesk.user.locale);
      translatePage();
      state = await loadState();
      render();
    } catch (error) {
      el('loading').hidden = true;
      showAlert(error.message);
    }
    resize();
  });

  function loadState() {
    return callService('GET', '/api/state?ticket_id=' + encodeURIComponent(zendesk.ticketId));
  }

  const callService = window.OutageDeskService.connect(() => i18n, showAlert);

  function translatePage() {
    document.documentElement.lang = i18n.lang;
    document.querySelectorAll('[data-i18n]').forEach((node) => {
      node.textContent = i18n.t(node.dataset.i18n);
    });
  }

  function render() {
    const incident = state.incident;
    const resolved = Boolean(incident) && incident.state === 'resolved';
    // Resolving: the outage is over and the closing emails are going out, until every one is settled.
    const resolving = Boolean(incident) && incident.state === 'resolving';
    const active = Boolean(incident) && !resolved && !resolving;

    el('loading').hidden = true;
    el('incident').hidden = !incident;
    el('ticket-actions').hidden = !active;
    el('notify-actions').hidden = !(resolved || resolving);
    el('script').hidden = !active;
    el('resolve-actions').hidden = !(active && state.user.role === 'admin');
    el('calm').hidden = active || resolving;

    if (incident) {
      el('incident').classList.toggle('is-resolved', resolved);
      el('incident-badge').textContent = i18n.t(resolved ? 'badgeResolved' : resolving ? 'badgeResolving' : 'badgeDeclared');
      const notifications = incident.notifications;
      el('incident-notifications').hidden = !(resolving && notifications);
      if (resolving && notifications) {
        el('incident-notifications').textContent = i18n.t('notificationsProgress', notifications);
      }
      el('incident-title').textContent = incident.title;
      const since = el('incident-since');
      const started = utcTime(incident.started_at);
      since.textContent = i18n.t('startedAt', { when: relativeTime(started) });
      since.title = new Date(started).toLocaleString(i18n.lang);
      el('incident-tickets').textContent = i18n.t('ticketsTakenIn', { count: incident.tickets });
      el('incident-problem').hidden = !incident.problem_ticket_id;
      el('incident-problem').textContent = i18n.t('problemTicket', { id: incident.problem_ticket_id });
    }
    if (active) {
      const attached = state.ticket.attached;
      el('ticket-status').textContent = i18n.t(attached ? 'ticketAttached' : 'ticketNotAttached');
      el('ticket-status').classList.toggle('is-attached', attached);
      const toggle = el('toggle-attach');
      toggle.textContent = i18n.t(attached ? 'detach' : 'attach');
      toggle.classList.toggle('c-btn--primary', !attached);
    }
    el('resolve').hidden = false;
    el('resolve-confirm').hidden = true;
    renderSuspected(state.suspected);
    renderStatusResolve(state.status_resolve);
    renderAgentSettings(state.agent_settings);
    renderMaintenance(state.maintenance || []);
    renderAftercare(state.aftercare);
    renderUpdates();
    renderHistory();
  }

  // The status page's "resolved", waiting for an admin or the product referent (OUTAGE_DESK_STATUS_RESOLVE=confirm).
  function renderStatusResolve(waiting) {
    el('status-resolve').hidden = !waiting;
    if (!waiting) {
      return;
    }
    el('status-resolve-name').textContent = waiting.name;
    el('status-resolve-hint').hidden = !waiting.can_confirm;
    el('confirm-status-resolve').hidden = !waiting.can_confirm;
    el('status-resolve-waiting').hidden = waiting.can_confirm;
  }

  // Admins only (the service sends nothing to agents): the settings Outage Desk changed through Zendesk's API,
  // then each setting to change by hand, at the declaration and at the end, with who ticked it when.
  function renderAgentSettings(settings) {
    const section = el('agent-settings');
    const shown = Boolean(settings) && (settings.changes.length > 0 || settings.checklist.length > 0);
    section.hidden = !shown;
    if (!shown) {
      return;
    }
    const changes = el('agent-settings-changes');
    changes.replaceChildren(...settings.changes.map((change) => {
      const line = document.createElement('li');
      const key = change.state === 'restored' ? 'settingsChatsRestored'
        : change.state === 'applied' ? 'settingsChatsApplied' : 'settingsChatsPending';
      line.textContent = i18n.t(key, change);
      return line;
    }));
    const checklist = el('agent-settings-checklist');
    checklist.replaceChildren(...settings.checklist.map(checklistLine));
  }

  // Wrap-up time, sent in seconds: "30 s", "2 min", as the agent's language writes them.
  function duration(seconds) {
    const minutes = seconds >= 60 && seconds % 60 === 0;
    return new Intl.NumberFormat(i18n.lang, {
      style: 'unit', unit: minutes ? 'minute' : 'second', unitDisplay: 'short'
    }).format(minutes ? seconds / 60 : seconds);
  }

  function checklistLine(item) {
    const line = document.createElement('li');
    line.className = 'checklist-item';
    line.dataset.item = item.item;
    const words = document.createElement('span');
    const setting = item.setting === 'wrap_up' ? 'WrapUp' : 'Chats';
    const phase = item.phase === 'declare' ? 'Declare' : 'Resolve';
    const value = item.setting === 'wrap_up' ? duration(item.value) : item.value;
    words.textContent = i18n.t('settings' + setting + phase, { value: value });
    line.append(words);
    if (item.ticked_at) {
      line.classList.add('is-ticked');
      const ticked = document.createElement('span');
      ticked.className = 'muted ticked';
      ticked.textContent = i18n.t('settingsTicked', {
        user: item.ticked_by, when: relativeTime(utcTime(item.ticked_at))
      });
      line.append(ticked);
    } else {
      const tick = document.createElement('button');
      tick.type = 'button';
      tick.className = 'c-btn c-btn--sm tick';
      tick.dataset.item = item.item;
      tick.textContent = i18n.t('settingsTick');
      line.append(tick);
    }
    return line;
  }

  // Aftercare: the requester (or their organisation) was hurt by a recent outage. The banner says which, until
  // when, what became of the ticket's priority, and the case study's checklist for the answer.
  function renderAftercare(aftercare) {
    el('aftercare').hidden = !aftercare;
    if (!aftercare) {
      return;
    }
    const until = new Date(utcTime(aftercare.until)).toLocaleDateString(i18n.lang, { day: 'numeric', month: 'long' });
    const why = aftercare.kind === 'organization' ? 'aftercareOrganization' : 'aftercareRequester';
    el('aftercare-why').textContent = i18n.t(why, { title: aftercare.incident_title, until: until });
    const priority = (name) => i18n.t('priority_' + (name || 'normal'));
    el('aftercare-priority').textContent = aftercare.state === 'raised'
      ? i18n.t('aftercareRaised', { from: priority(aftercare.from_priority), to: priority(aftercare.to_priority) })
      : aftercare.state === 'submitted' ? i18n.t('aftercareRaising', { to: priority(aftercare.to_priority) })
        : i18n.t('aftercareKept');
  }

  // Upcoming and running maintenance windows, soonest first, in the agent's own time zone.
  function renderMaintenance(windows) {
    el('maintenance').hidden = windows.length === 0;
    const list = el('maintenance-windows');
    list.replaceChildren(...windows.map((slot) => {
      const starts = utcTime(slot.starts_at);
      const ends = utcTime(slot.ends_at);
      const item = document.createElement('li');
      const title = document.createElement('strong');
      title.textContent = slot.title;
      const when = document.createElement('span');
      when.className = 'muted';
      const clock = { hour: '2-digit', minute: '2-digit' };
      when.textContent = ' · ' + (slot.state === 'declared'
        ? i18n.t('maintenanceUnderWay', { until: new Date(ends).toLocaleTimeString(i18n.lang, clock) })
        : i18n.t('maintenanceStarts', {
          when: new Date(starts).toLocaleString(i18n.lang, { weekday: 'long', day: 'numeric', month: 'short', ...clock }),
          duration: i18n.t('minutes', { count: Math.round((ends - starts) / 60000) })
        }));
      item.append(title, when);
      return item;
    }));
  }

  // "Post an update", for admins while the outage is declared: what the last update reached, when the
  // next may go (the service refuses one sooner), and the form: texts by language, or a macro.
  function renderUpdates() {
    const incident = state.incident;
    const shown = Boolean(incident) && incident.state === 'declared' && state.user.role === 'admin';
    el('post-update').hidden = !shown;
    if (!shown) {
      return;
    }
    const last = incident.last_update;
    el('update-last').hidden = !last;
    if (last) {
      el('update-last').textContent = i18n.t(last.finished ? 'updateLastDone' : 'updateLastGoing', {
        id: last.id, time: clockTime(last.created_at), sent: last.sent, pending: last.pending, skipped: last.skipped
      });
    }
    el('update-next').hidden = !incident.next_update_at;
    if (incident.next_update_at) {
      el('update-next').textContent = i18n.t('updateNext', { time: clockTime(incident.next_update_at) });
    }
    if (el('update-form').dataset.incident !== String(incident.id)) {
      // Set up once per outage, so a re-render does not undo what the admin typed.
      el('update-form').dataset.incident = String(incident.id);
      resetUpdateForm();
    }
  }

  // A text box in the admin's own language, and one in the account's default language, which every
  // requester without a text of their own gets (the service requires it).
  function resetUpdateForm() {
    el('update-texts').textContent = '';
    addUpdateText(String(zendesk.user.locale || 'en').split('-')[0].toLowerCase());
    addUpdateText(state.default_language);
    el('update-macro').value = '';
    el('update-language').value = '';
    el('update-form').querySelector('input[value="texts"]').checked = true;
    showUpdateKind();
  }

  function updateTextBoxes() {
    return Array.from(document.querySelectorAll('#update-texts textarea'));
  }

  function addUpdateText(language) {
    if (!language || updateTextBoxes().some((box) => box.dataset.language.toLowerCase() === language.toLowerCase())) {
      return;
    }
    const field = document.createElement('div');
    field.className = 'c-field';
    const label = document.createElement('label');
    label.className = 'c-field__label';
    label.htmlFor = 'update-text-' + language;
    label.textContent = i18n.t('updateText', { language: languageName(language) });
    const box = document.createElement('textarea');
    box.className = 'c-field__input';
    box.id = label.htmlFor;
    box.dataset.language = language;
    box.maxLength = 20000;
    field.append(label, box);
    el('update-texts').append(field);
  }

  // "French", "anglais": the language's name in the agent's own language, else its code.
  function languageName(language) {
    try {
      return new Intl.DisplayNames([i18n.lang], { type: 'language' }).of(language) || language;
    } catch (notALanguage) {
      return language;
    }
  }

  function updateKind() {
    return el('update-form').querySelector('input[name="update-kind"]:checked').value;
  }

  function showUpdateKind() {
    const macro = updateKind() === 'macro';
    el('update-texts').hidden = macro;
    el('update-languages').hidden = macro;
    el('update-macro-field').hidden = !macro;
    resize();
  }

  // The update as the service takes it: the non-empty texts by language, or a macro's title.
  function updateBody() {
    if (updateKind() === 'macro') {
      return { macro: el('update-macro').value.trim() };
    }
    const texts = {};
    updateTextBoxes().forEach((box) => {
      if (box.value.trim()) {
        texts[box.dataset.language] = box.value.trim();
      }
    });
    return { texts: texts };
  }

  // The state changes of the incident shown (the outage, else the suspicion), oldest first.
  function renderHistory() {
    const running = Boolean(state.incident) && state.incident.state !== 'resolved';
    const shown = running ? state.incident : state.suspected || state.incident;
    const changes = (shown && shown.changes) || [];
    el('history').hidden = changes.length === 0;
    const list = el('history-list');
    list.textContent = '';
    changes.forEach((change) => {
      const item = document.createElement('li');
      item.textContent = i18n.t('historyLine', {
        time: clockTime(change.at), state: i18n.t('state_' + change.to), by: causeOf(change.by)
      });
      list.append(item);
    });
  }

  // Who or what made a change: a Zendesk user id (the agent themself: "you"), or one of the service's causes.
  function causeOf(by) {
    if (/^\d+$/.test(by)) {
      return Number(by) === state.user.id ? i18n.t('byYou') : i18n.t('byUser', { id: by });
    }
    const known = { detection: 'byDetection', cli: 'byCli', worker: 'byWorker' };
    return known[by] ? i18n.t(known[by]) : i18n.t('byOther', { who: by });
  }

  // A time of day in the agent's language and time zone, with the day when it is not today.
  function clockTime(iso) {
    const time = new Date(utcTime(iso));
    const options = { hour: '2-digit', minute: '2-digit' };
    if (time.toDateString() !== new Date().toDateString()) {
      options.month = 'short';
      options.day = 'numeric';
    }
    return time.toLocaleString(i18n.lang, options);
  }

  // Detection's suspicion, "5 tickets like this one in 12 minutes": Confirm and Dismiss for those the
  // service says may (admins and the product referent), a word on who decides for everyone else.
  function renderSuspected(suspected) {
    el('suspected').hidden = !suspected;
    if (!suspected) {
      return;
    }
    el('suspected-title').textContent = suspected.title;
    const span = i18n.t('minutes', { count: Math.max(suspected.span_minutes, 1) });
    el('suspected-tickets').textContent = i18n.t('suspectedTickets', { count: suspected.tickets, span: span });
    el('suspected-form').hidden = !suspected.can_confirm;
    el('suspected-waiting').hidden = suspected.can_confirm;
    if (el('suspected-form').dataset.incident !== String(suspected.id)) {
      // Prefilled once per suspicion, so a re-render does not undo what the admin typed.
      el('suspected-form').dataset.incident = String(suspected.id);
      el('suspected-query').value = suspected.query;
    }
  }

  // The service keeps times in UTC; a timestamp without an offset is UTC, not the agent's local time
  // (which is how Date.parse would read it).
  function utcTime(iso) {
    return Date.parse(/(Z|[+-]\d\d:?\d\d)$/.test(iso) ? iso : iso + 'Z');
  }

  function relativeTime(time) {
    const minutes = Math.round((time - Date.now()) / 60000);
    const format = new Intl.RelativeTimeFormat(i18n.lang, { numeric: 'auto' });
    if (Math.abs(minutes) < 60) {
      return format.format(Math.min(minutes, -1), 'minute');
    }
    if (Math.abs(minutes) < 48 * 60) {
      return format.format(Math.round(minutes / 60), 'hour');
    }
    return format.format(Math.round(minutes / (24 * 60)), 'day');
  }

  // The subject's first word that says something, e.g. "API" in "Re: URGENT the API is down".
  function suggestedQuery(subject) {
    const words = subject.split(/[^\p{L}\p{N}'’-]+/u).filter(Boolean);
    const meaningful = words.find((word) => word.length >= 3 && !/^\d+$/.test(word) &&
      !STOP_WORDS.has(word.toLowerCase()));
    return meaningful || words[0] || '';
  }

  function showAlert(message) {
    el('alert-message').textContent = message;
    el('alert').hidden = false;
  }

  function showNotice(message) {
    el('notice-message').textContent = message;
    el('notice').hidden = false;
  }

  // One action at a time: buttons are disabled while the service answers, so a double click
  // cannot declare twice or attach and detach at once.
  async function act(work) {
    el('alert').hidden = true;
    el('notice').hidden = true;
    const buttons = document.querySelectorAll('button');
    buttons.forEach((button) => { button.disabled = true; });
    try {
      await work();
    } catch (error) {
      showAlert(error.message);
      // A refusal often means someone else changed the outage meanwhile: show what is true now.
      state = await loadState().catch(() => state);
      render();
    } finally {
      buttons.forEach((button) => { button.disabled = false; });
      resize();
    }
  }

  function resize() {
    client.invoke('resize', { width: '100%', height: Math.ceil(document.body.scrollHeight) + 'px' });
  }

  el('open-declare').addEventListener('click', () => {
    el('declare-title').value = zendesk.subject;
    el('declare-query').value = suggestedQuery(zendesk.subject);
    el('open-declare').hidden = true;
    el('declare-form').hidden = false;
    el('declare-title').focus();
    resize();
  });

  el('cancel-declare').addEventListener('click', () => {
    el('declare-form').hidden = true;
    el('open-declare').hidden = false;
    resize();
  });

  el('declare-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      await callService('POST', '/api/incidents', {
        ticket_id: zendesk.ticketId,
        title: el('declare-title').value.trim(),
        query: el('declare-query').value.trim(),
        severity: Number(el('declare-severity').value)
      });
      // Declaring may take this very ticket in: read the whole state again rather than guess.
      state = await loadState();
      el('declare-form').hidden = true;
      el('open-declare').hidden = false;
      render();
    });
  });

  el('suspected-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      await callService('POST', '/api/incidents/' + state.suspected.id + '/confirm',
        { query: el('suspected-query').value.trim() });
      // Now a declared outage: read the whole state again.
      state = await loadState();
      render();
    });
  });

  el('dismiss-suspected').addEventListener('click', () => {
    act(async () => {
      await callService('POST', '/api/incidents/' + state.suspected.id + '/dismiss');
      state = await loadState();
      render();
    });
  });

  el('confirm-status-resolve').addEventListener('click', () => {
    act(async () => {
      const answer = await callService('POST', '/api/incidents/' + state.status_resolve.incident_id + '/confirm-resolve');
      state.incident = answer.incident;
      state.status_resolve = null;
      render();
    });
  });

  el('open-update').addEventListener('click', () => {
    el('open-update').hidden = true;
    el('update-form').hidden = false;
    resize();
  });

  el('cancel-update').addEventListener('click', () => {
    el('update-form').hidden = true;
    el('open-update').hidden = false;
    resize();
  });

  el('update-form').querySelectorAll('input[name="update-kind"]').forEach((radio) => {
    radio.addEventListener('change', showUpdateKind);
  });

  el('add-update-language').addEventListener('click', () => {
    const language = el('update-language').value.trim();
    // As the service checks it: en, fr, pt-BR …; anything else stays in the box for the admin to fix.
    if (/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$/.test(language)) {
      addUpdateText(language);
      el('update-language').value = '';
      resize();
    }
  });

  el('update-form').addEventListener('submit', (event) => {
    event.preventDefault();
    act(async () => {
      let answer;
      try {
        answer = await callService('POST', '/api/incidents/' + state.incident.id + '/updates', updateBody());
      } catch (error) {
        if (error.answer && error.answer.next_allowed_at) {
          // At most one update per interval: say when, in the agent's own time.
          throw new Error(i18n.t('updateTooSoon', { time: clockTime(error.answer.next_allowed_at) }));
        }
        throw error;
      }
      el('update-form').hidden = true;
      el('open-update').hidden = false;
      delete el('update-form').dataset.incident; // a fresh form for the next update
      state = await loadState();
      render();
      showNotice(i18n.t('updatePosted', { id: answer.update.id }));
      watchUpdate(answer.update.id, UPDATE_WATCH_ROUNDS);
    });
  });

  // The worker sends the update within seconds: read the state again until its counts are final, so the
  // admin sees them without reopening the ticket (a few minutes at most, then the next open shows them).
  const UPDATE_WATCH_SECONDS = 5;
  const UPDATE_WATCH_ROUNDS = 36;

  function watchUpdate(updateId, rounds) {
    const last = state.incident && state.incident.last_update;
    if (rounds <= 0 || !last || last.id !== updateId || last.finished) {
      return;
    }
    setTimeout(async () => {
      try {
        state = await loadState();
        render();
        resize();
      } catch (error) {
        return; // the next open of the ticket shows where it stands
      }
      watchUpdate(updateId, rounds - 1);
    }, UPDATE_WATCH_SECONDS * 1000);
  }

  el('toggle-attach').addEventListener('click', () => {
    const incidentId = state.incident.id;
    act(async () => {
      const answer = state.ticket.attached
        ? await callService('DELETE', '/api/incidents/' + incidentId + '/tickets/' + zendesk.ticketId)
        : await callService('POST', '/api/incidents/' + incidentId + '/tickets', { ticket_id: zendesk.ticketId });
      state.ticket = answer.ticket;
      render();
    });
  });

  el('notify-mine').addEventListener('click', () => {
    act(async () => {
      const answer = await callService('POST', '/api/incidents/' + state.incident.id + '/notify-mine');
      showNotice(i18n.t('notifyQueued', { count: answer.queued }));
    });
  });

  el('agent-settings-checklist').addEventListener('click', (event) => {
    const tick = event.target.closest('button.tick');
    if (!tick) {
      return;
    }
    act(async () => {
      await callService('POST', '/api/incidents/' + state.incident.id + '/checklist/' +
        encodeURIComponent(tick.dataset.item));
      state = await loadState();
      render();
    });
  });

  // Resolving mails every affected customer: it takes a second, deliberate click.
  el('resolve').addEventListener('click', () => {
    el('resolve').hidden = true;
    el('resolve-confirm').hidden = false;
    resize();
  });

  el('resolve-no').addEventListener('click', () => {
    el('resolve-confirm').hidden = true;
    el('resolve').hidden = false;
    resize();
  });

  el('resolve-yes').addEventListener('click', () => {
    act(async () => {
      const answer = await callService('POST', '/api/incidents/' + state.incident.id + '/resolve');
      state.incident = answer.incident;
      render();
    });
  });
})();
