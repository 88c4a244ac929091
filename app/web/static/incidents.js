// Outage Desk's incidents page, in Zendesk's nav bar: every incident with its live counts and its
// report, and for admins the CLI's actions (declare, resolve, post an update). The service served this
// page after checking the token Zendesk signed for this agent, as for the sidebar; the session it put
// in the page goes with every call, and the service decides from Zendesk's role what the agent may do.
(function () {
  'use strict';

  const REFRESH_SECONDS = 5; // live counts: the worker's progress shows without a reload
  const client = ZAFClient.init();
  const el = (id) => document.getElementById(id);
  let i18n = window.OutageDeskI18n.forLocale('en');
  let listing = null; // the service's last word: {incidents, user, default_language}
  const openForms = new Set(); // incident ids whose update form is open: a refresh keeps it

  client.on('app.registered', async function () {
    try {
      const data = await client.get(['currentUser']);
      i18n = window.OutageDeskI18n.forLocale(data.currentUser.locale);
      translate(document);
      await refresh();
    } catch (error) {
      el('loading').hidden = true;
      showAlert(error.message);
    }
  });

  const callService = window.OutageDeskService.connect(() => i18n, showAlert);

  function translate(root) {
    document.documentElement.lang = i18n.lang;
    root.querySelectorAll('[data-i18n]').forEach((node) => {
      node.textContent = i18n.t(node.dataset.i18n);
    });
  }

  async function refresh() {
    try {
      listing = await callService('GET', 'api/incidents');
      render();
    } finally {
      setTimeout(() => refresh().catch((error) => showAlert(error.message)), REFRESH_SECONDS * 1000);
    }
  }

  function isAdmin() {
    return listing.user.role === 'admin';
  }

  function render() {
    el('loading').hidden = true;
    el('declare').hidden = !isAdmin();
    el('none').hidden = listing.incidents.length > 0;
    const list = el('incident-list');
    listing.incidents.forEach((incident) => {
      let card = list.querySelector('[data-id="' + incident.id + '"]');
      if (!card) {
        card = newCard(incident.id);
      }
      list.appendChild(card); // in the service's order
      fillCard(card, incident);
    });
  }

  function newCard(id) {
    const card = el('incident-card').content.firstElementChild.cloneNode(true);
    card.dataset.id = id;
    translate(card);
    card.querySelector('.card-update-form textarea').id = 'update-text-' + id;
    card.querySelector('.card-update-form label').htmlFor = 'update-text-' + id;
    card.querySelector('.card-report').addEventListener('click', () => showReport(card, id));
    card.querySelector('.card-resolve').addEventListener('click', () => resolve(id));
    card.querySelector('.card-update').addEventListener('click', () => toggleUpdateForm(card, id));
    card.querySelector('.card-update-form').addEventListener('submit', (event) => postUpdate(event, card, id));
    return card;
  }

  const BADGES = { suspected: 'badgeSuspected', declared: 'badgeDeclared', resolving: 'badgeResolving', resolved: 'badgeResolved' };

  function fillCard(card, incident) {
    card.classList.toggle('is-resolved', incident.state === 'resolved');
    const badge = card.querySelector('.badge');
    badge.className = 'badge badge--' + incident.state;
    badge.textContent = i18n.t(BADGES[incident.state]);
    card.querySelector('.incident-title').textContent = incident.title;
    card.querySelector('.card-since').textContent = i18n.t('incidentsNumber', {
      id: incident.id, when: new Date(incident.started_at).toLocaleString(i18n.lang) });
    card.querySelector('.card-counts').textContent = incident.state === 'suspected'
      ? i18n.t('incidentsSimilar', { count: incident.tickets })
      : i18n.t('ticketsTakenIn', { count: incident.tickets });
    const notifications = card.querySelector('.card-notifications');
    notifications.hidden = !incident.notifications || incident.state === 'declared';
    if (!notifications.hidden) {
      notifications.textContent = i18n.t('notificationsProgress', incident.notifications);
    }
    const declared = incident.state === 'declared';
    card.querySelector('.card-resolve').hidden = !(isAdmin() && declared);
    card.querySelector('.card-update').hidden = !(isAdmin() && declared);
    card.querySelector('.card-update-form').hidden = !(isAdmin() && declared && openForms.has(incident.id));
    card.querySelector('.card-report').hidden = incident.state === 'suspected';
  }

  async function showReport(card, id) {
    const body = card.querySelector('.card-report-body');
    try {
      const report = await callService('GET', 'api/incidents/' + id + '/report');
      const summary = report.summary;
      const notified = Object.values(summary.notified).reduce((a, b) => a + b, 0);
      const acknowledge = summary.time_to_acknowledge_seconds;
      card.querySelector('.card-report-summary').textContent = i18n.t('incidentsReportSummary', {
        tickets: summary.tickets, notified: notified, callbacks: summary.callbacks,
        ack: acknowledge ? Math.round(acknowledge.median / 60) : '–' });
      // The HTML report as a file: it needs the session, which a plain link would not send.
      const html = await callService('GET', 'api/incidents/' + id + '/report?format=html', undefined, 'text/html');
      const link = card.querySelector('.card-report-html');
      link.href = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      link.download = 'incident-' + id + '-report.html';
      body.hidden = false;
    } catch (error) {
      showAlert(error.message);
    }
  }

  function toggleUpdateForm(card, id) {
    const form = card.querySelector('.card-update-form');
    if (openForms.has(id)) {
      openForms.delete(id);
    } else {
      openForms.add(id);
    }
    // The default language's text: requesters without a language of their own get it.
    form.querySelector('label').textContent = i18n.t('incidentsUpdateText', { language: listing.default_language });
    form.hidden = !openForms.has(id);
  }

  async function postUpdate(event, card, id) {
    event.preventDefault();
    const text = card.querySelector('.card-update-form textarea').value.trim();
    const texts = {};
    texts[listing.default_language] = text;
    await act(() => callService('POST', 'api/incidents/' + id + '/updates', { texts: texts }),
      (answer) => { openForms.delete(id); return i18n.t('incidentsUpdatePosted', answer.update); });
  }

  async function resolve(id) {
    await act(() => callService('POST', 'api/incidents/' + id + '/resolve'),
      (answer) => i18n.t('incidentsResolvingNotice', answer.incident));
  }

  el('declare-open').addEventListener('click', () => {
    el('declare-form').hidden = !el('declare-form').hidden;
  });

  el('declare-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { title: el('declare-title').value.trim(), query: el('declare-query').value.trim(),
      severity: Number(el('declare-severity').value) };
    await act(() => callService('POST', 'api/incidents', body), (answer) => {
      el('declare-form').hidden = true;
      return i18n.t('incidentsDeclaredNotice', answer.incident);
    });
  });

  // One action: the service's answer as a notice, then the list as it stands now.
  async function act(call, notice) {
    el('alert').hidden = true;
    try {
      const answer = await call();
      el('notice-message').textContent = notice(answer);
      el('notice').hidden = false;
      listing = await callService('GET', 'api/incidents');
      render();
    } catch (error) {
      showAlert(error.message);
    }
  }

  function showAlert(message) {
    el('notice').hidden = true;
    el('alert-message').textContent = message;
    el('alert').hidden = false;
  }
})();
