// The sidebar's words in the languages the support team works in; the agent's Zendesk locale picks one.
// A string that depends on a number has one form per plural category (Intl.PluralRules), so that
// Russian, for instance, gets its own forms instead of an English "s". French puts a no-break space
// (\u00a0) before "?" and ":", so they never wrap onto a line of their own.
window.OutageDeskI18n = (function () {
  'use strict';

  const STRINGS = {
    en: {
      loading: 'Loading…',
      errorTitle: 'Outage Desk could not do that',
      serviceUnreachable: 'No usable answer from the Outage Desk service (status {status}).',
      noOutage: 'No outage in progress.',
      declareOpen: 'Declare an outage from this ticket',
      fieldTitle: 'Title',
      fieldQuery: 'Search query',
      fieldQueryHint: 'Tickets that match it since the start are taken in.',
      fieldSeverity: 'Severity',
      severity1: '1 – Product cannot be used',
      severity2: '2 – A major feature is down',
      severity3: '3 – Slowed down, workaround exists',
      severity4: '4 – Question',
      declareSubmit: 'Declare the outage',
      cancel: 'Cancel',
      badgeDeclared: 'Outage in progress',
      badgeResolved: 'Resolved',
      badgeResolving: 'Closing emails going out',
      notificationsProgress: 'Closing emails: {sent} sent, {pending} to go, {callbacks} to call back.',
      startedAt: 'Started {when}',
      ticketsTakenIn: { one: '{count} ticket taken in', other: '{count} tickets taken in' },
      problemTicket: 'Problem ticket #{id}',
      ticketAttached: 'This ticket is part of the outage.',
      ticketNotAttached: 'This ticket is not part of the outage.',
      attach: 'Attach this ticket',
      detach: 'Detach this ticket',
      notifyHint: 'The outage is fixed: send the closing reply to your own tickets.',
      notifyMine: 'Notify my tickets',
      notifyQueued: { one: '{count} closing reply queued.', other: '{count} closing replies queued.' },
      scriptTitle: 'What to say',
      scriptApologise: 'I am truly sorry for the inconvenience.',
      scriptDevelopers: 'Our developers have been on it since the first detection.',
      scriptEmail: 'We will write back to you by email as soon as it is fixed.',
      scriptConfirmEmail: 'May I confirm your email address?',
      remindersTitle: 'During the outage',
      reminderAuthentication: 'Skip customer authentication.',
      reminderWrapUp: 'Skip wrap-up: take the next contact.',
      resolve: 'Resolve the outage',
      resolveWarning: 'Every affected customer will get the closing reply.',
      resolveConfirm: 'Yes, resolve'
    },
    fr: {
      loading: 'Chargement…',
      errorTitle: 'Outage Desk n’a pas pu le faire',
      serviceUnreachable: 'Pas de réponse exploitable du service Outage Desk (statut {status}).',
      noOutage: 'Aucun incident en cours.',
      declareOpen: 'Déclarer un incident depuis ce ticket',
      fieldTitle: 'Titre',
      fieldQuery: 'Requête de recherche',
      fieldQueryHint: 'Les tickets correspondants depuis le début seront rattachés.',
      fieldSeverity: 'Gravité',
      severity1: '1 – Produit inutilisable',
      severity2: '2 – Fonction majeure en panne',
      severity3: '3 – Ralentissement, contournement possible',
      severity4: '4 – Question',
      declareSubmit: 'Déclarer l’incident',
      cancel: 'Annuler',
      badgeDeclared: 'Incident en cours',
      badgeResolved: 'Résolu',
      badgeResolving: 'E-mails de clôture en cours d’envoi',
      notificationsProgress: 'E-mails de clôture : {sent} envoyés, {pending} restants, {callbacks} à rappeler.',
      startedAt: 'Début\u00a0: {when}',
      ticketsTakenIn: { one: '{count} ticket rattaché', other: '{count} tickets rattachés' },
      problemTicket: 'Ticket problème #{id}',
      ticketAttached: 'Ce ticket est rattaché à l’incident.',
      ticketNotAttached: 'Ce ticket n’est pas rattaché à l’incident.',
      attach: 'Rattacher ce ticket',
      detach: 'Détacher ce ticket',
      notifyHint: 'L’incident est résolu\u00a0: envoyez la réponse de clôture à vos tickets.',
      notifyMine: 'Notifier mes tickets',
      notifyQueued: {
        one: '{count} réponse de clôture en file d’attente.',
        other: '{count} réponses de clôture en file d’attente.'
      },
      scriptTitle: 'Ce qu’il faut dire',
      scriptApologise: 'Je suis sincèrement désolé(e) pour la gêne occasionnée.',
      scriptDevelopers: 'Nos développeurs sont dessus depuis la première détection.',
      scriptEmail: 'Nous vous écrirons par e-mail dès que ce sera réglé.',
      scriptConfirmEmail: 'Puis-je confirmer votre adresse e-mail\u00a0?',
      remindersTitle: 'Pendant l’incident',
      reminderAuthentication: 'Pas d’authentification client.',
      reminderWrapUp: 'Pas de post-appel (wrap-up)\u00a0: enchaînez.',
      resolve: 'Résoudre l’incident',
      resolveWarning: 'Chaque client concerné recevra la réponse de clôture.',
      resolveConfirm: 'Oui, résoudre'
    },
    es: {
      loading: 'Cargando…',
      errorTitle: 'Outage Desk no pudo hacerlo',
      serviceUnreachable: 'Sin respuesta utilizable del servicio Outage Desk (estado {status}).',
      noOutage: 'No hay ninguna incidencia en curso.',
      declareOpen: 'Declarar una incidencia desde este ticket',
      fieldTitle: 'Título',
      fieldQuery: 'Consulta de búsqueda',
      fieldQueryHint: 'Se incluirán los tickets que coincidan desde el inicio.',
      fieldSeverity: 'Gravedad',
      severity1: '1 – Producto inutilizable',
      severity2: '2 – Una función principal caída',
      severity3: '3 – Lentitud, hay alternativa',
      severity4: '4 – Pregunta',
      declareSubmit: 'Declarar la incidencia',
      cancel: 'Cancelar',
      badgeDeclared: 'Incidencia en curso',
      badgeResolved: 'Resuelta',
      badgeResolving: 'Enviando los correos de cierre',
      notificationsProgress: 'Correos de cierre: {sent} enviados, {pending} pendientes, {callbacks} por llamar.',
      startedAt: 'Comenzó {when}',
      ticketsTakenIn: { one: '{count} ticket incluido', other: '{count} tickets incluidos' },
      problemTicket: 'Ticket de problema #{id}',
      ticketAttached: 'Este ticket está vinculado a la incidencia.',
      ticketNotAttached: 'Este ticket no está vinculado a la incidencia.',
      attach: 'Vincular este ticket',
      detach: 'Desvincular este ticket',
      notifyHint: 'La incidencia está resuelta: envíe la respuesta de cierre a sus tickets.',
      notifyMine: 'Notificar mis tickets',
      notifyQueued: { one: '{count} respuesta de cierre en cola.', other: '{count} respuestas de cierre en cola.' },
      scriptTitle: 'Qué decir',
      scriptApologise: 'Lamento sinceramente las molestias.',
      scriptDevelopers: 'Nuestros desarrolladores trabajan en ello desde la primera detección.',
      scriptEmail: 'Le escribiremos por correo electrónico en cuanto esté resuelto.',
      scriptConfirmEmail: '¿Me confirma su dirección de correo electrónico?',
      remindersTitle: 'Durante la incidencia',
      reminderAuthentication: 'Omita la autenticación del cliente.',
      reminderWrapUp: 'Omita el cierre (wrap-up): pase al siguiente contacto.',
      resolve: 'Resolver la incidencia',
      resolveWarning: 'Cada cliente afectado recibirá la respuesta de cierre.',
      resolveConfirm: 'Sí, resolver'
    },
    ru: {
      loading: 'Загрузка…',
      errorTitle: 'Outage Desk не смог выполнить действие',
      serviceUnreachable: 'Сервис Outage Desk не дал понятного ответа (статус {status}).',
      noOutage: 'Сбоев сейчас нет.',
      declareOpen: 'Объявить сбой по этому тикету',
      fieldTitle: 'Название',
      fieldQuery: 'Поисковый запрос',
      fieldQueryHint: 'Все подходящие тикеты с начала сбоя будут привязаны.',
      fieldSeverity: 'Уровень',
      severity1: '1 – Продукт недоступен',
      severity2: '2 – Не работает ключевая функция',
      severity3: '3 – Замедление, есть обходной путь',
      severity4: '4 – Вопрос',
      declareSubmit: 'Объявить сбой',
      cancel: 'Отмена',
      badgeDeclared: 'Идёт сбой',
      badgeResolved: 'Устранён',
      badgeResolving: 'Идёт рассылка писем о восстановлении',
      notificationsProgress: 'Письма о восстановлении: отправлено {sent}, осталось {pending}, перезвонить {callbacks}.',
      startedAt: 'Начался {when}',
      ticketsTakenIn: {
        one: '{count} тикет привязан',
        few: '{count} тикета привязано',
        many: '{count} тикетов привязано',
        other: '{count} тикета привязано'
      },
      problemTicket: 'Тикет-проблема #{id}',
      ticketAttached: 'Этот тикет привязан к сбою.',
      ticketNotAttached: 'Этот тикет не привязан к сбою.',
      attach: 'Привязать этот тикет',
      detach: 'Отвязать этот тикет',
      notifyHint: 'Сбой устранён: отправьте итоговый ответ по своим тикетам.',
      notifyMine: 'Уведомить по моим тикетам',
      notifyQueued: {
        one: '{count} итоговый ответ поставлен в очередь.',
        few: '{count} итоговых ответа поставлено в очередь.',
        many: '{count} итоговых ответов поставлено в очередь.',
        other: '{count} итогового ответа поставлено в очередь.'
      },
      scriptTitle: 'Что сказать клиенту',
      scriptApologise: 'Искренне приносим извинения за неудобства.',
      scriptDevelopers: 'Наши разработчики занимаются проблемой с момента её обнаружения.',
      scriptEmail: 'Мы напишем вам по электронной почте, как только всё исправим.',
      scriptConfirmEmail: 'Подтвердите, пожалуйста, ваш адрес электронной почты.',
      remindersTitle: 'Во время сбоя',
      reminderAuthentication: 'Не проводите аутентификацию клиента.',
      reminderWrapUp: 'Без постобработки (wrap-up): сразу берите следующее обращение.',
      resolve: 'Завершить сбой',
      resolveWarning: 'Все затронутые клиенты получат итоговый ответ.',
      resolveConfirm: 'Да, завершить'
    },
    de: {
      loading: 'Wird geladen…',
      errorTitle: 'Outage Desk konnte das nicht ausführen',
      serviceUnreachable: 'Keine verwertbare Antwort vom Outage-Desk-Dienst (Status {status}).',
      noOutage: 'Keine Störung aktiv.',
      declareOpen: 'Störung aus diesem Ticket melden',
      fieldTitle: 'Titel',
      fieldQuery: 'Suchbegriff',
      fieldQueryHint: 'Passende Tickets seit Beginn werden erfasst.',
      fieldSeverity: 'Schweregrad',
      severity1: '1 – Produkt nicht nutzbar',
      severity2: '2 – Wichtige Funktion ausgefallen',
      severity3: '3 – Verlangsamt, Workaround vorhanden',
      severity4: '4 – Frage',
      declareSubmit: 'Störung melden',
      cancel: 'Abbrechen',
      badgeDeclared: 'Störung aktiv',
      badgeResolved: 'Behoben',
      badgeResolving: 'Abschluss-E-Mails werden versendet',
      notificationsProgress: 'Abschluss-E-Mails: {sent} gesendet, {pending} ausstehend, {callbacks} zurückzurufen.',
      startedAt: 'Begonnen {when}',
      ticketsTakenIn: { one: '{count} Ticket erfasst', other: '{count} Tickets erfasst' },
      problemTicket: 'Problem-Ticket #{id}',
      ticketAttached: 'Dieses Ticket ist der Störung zugeordnet.',
      ticketNotAttached: 'Dieses Ticket ist der Störung nicht zugeordnet.',
      attach: 'Dieses Ticket zuordnen',
      detach: 'Zuordnung aufheben',
      notifyHint: 'Die Störung ist behoben: Senden Sie die Abschlussantwort an Ihre Tickets.',
      notifyMine: 'Meine Tickets benachrichtigen',
      notifyQueued: {
        one: '{count} Abschlussantwort in der Warteschlange.',
        other: '{count} Abschlussantworten in der Warteschlange.'
      },
      scriptTitle: 'Was Sie sagen',
      scriptApologise: 'Es tut mir aufrichtig leid für die Unannehmlichkeiten.',
      scriptDevelopers: 'Unsere Entwickler arbeiten seit der ersten Erkennung daran.',
      scriptEmail: 'Wir schreiben Ihnen per E-Mail, sobald das Problem behoben ist.',
      scriptConfirmEmail: 'Darf ich Ihre E-Mail-Adresse bestätigen?',
      remindersTitle: 'Während der Störung',
      reminderAuthentication: 'Keine Kundenauthentifizierung.',
      reminderWrapUp: 'Keine Nachbearbeitung: nehmen Sie den nächsten Kontakt an.',
      resolve: 'Störung als behoben markieren',
      resolveWarning: 'Alle betroffenen Kunden erhalten die Abschlussantwort.',
      resolveConfirm: 'Ja, als behoben markieren'
    },
    'pt-BR': {
      loading: 'Carregando…',
      errorTitle: 'O Outage Desk não conseguiu fazer isso',
      serviceUnreachable: 'Sem resposta utilizável do serviço Outage Desk (status {status}).',
      noOutage: 'Nenhuma instabilidade em andamento.',
      declareOpen: 'Declarar instabilidade a partir deste ticket',
      fieldTitle: 'Título',
      fieldQuery: 'Termo de busca',
      fieldQueryHint: 'Os tickets correspondentes desde o início serão incluídos.',
      fieldSeverity: 'Gravidade',
      severity1: '1 – Produto inutilizável',
      severity2: '2 – Função importante fora do ar',
      severity3: '3 – Lentidão, há alternativa',
      severity4: '4 – Dúvida',
      declareSubmit: 'Declarar instabilidade',
      cancel: 'Cancelar',
      badgeDeclared: 'Instabilidade em andamento',
      badgeResolved: 'Resolvida',
      badgeResolving: 'Enviando os e-mails de encerramento',
      notificationsProgress: 'E-mails de encerramento: {sent} enviados, {pending} pendentes, {callbacks} para ligar de volta.',
      startedAt: 'Começou {when}',
      ticketsTakenIn: { one: '{count} ticket incluído', other: '{count} tickets incluídos' },
      problemTicket: 'Ticket de problema #{id}',
      ticketAttached: 'Este ticket está vinculado à instabilidade.',
      ticketNotAttached: 'Este ticket não está vinculado à instabilidade.',
      attach: 'Vincular este ticket',
      detach: 'Desvincular este ticket',
      notifyHint: 'A instabilidade foi resolvida: envie a resposta de encerramento aos seus tickets.',
      notifyMine: 'Notificar meus tickets',
      notifyQueued: {
        one: '{count} resposta de encerramento na fila.',
        other: '{count} respostas de encerramento na fila.'
      },
      scriptTitle: 'O que dizer',
      scriptApologise: 'Peço sinceras desculpas pelo transtorno.',
      scriptDevelopers: 'Nossos desenvolvedores estão trabalhando nisso desde a primeira detecção.',
      scriptEmail: 'Vamos escrever para você por e-mail assim que for resolvido.',
      scriptConfirmEmail: 'Posso confirmar o seu endereço de e-mail?',
      remindersTitle: 'Durante a instabilidade',
      reminderAuthentication: 'Pule a autenticação do cliente.',
      reminderWrapUp: 'Pule o pós-atendimento (wrap-up): siga para o próximo contato.',
      resolve: 'Resolver a instabilidade',
      resolveWarning: 'Todos os clientes afetados receberão a resposta de encerramento.',
      resolveConfirm: 'Sim, resolver'
    }
  };

  // Zendesk locales look like "fr", "en-US", "es-419" or "pt-BR": match the whole tag first, then
  // the language alone, so "fr-CA" gets French and "pt" gets the Brazilian Portuguese we have.
  function languageFor(locale) {
    const tag = String(locale || '').toLowerCase();
    const languages = Object.keys(STRINGS);
    return languages.find((lang) => lang.toLowerCase() === tag) ||
      languages.find((lang) => lang.split('-')[0] === tag.split('-')[0]) ||
      'en';
  }

  function forLocale(locale) {
    const lang = languageFor(locale);
    const strings = STRINGS[lang];
    const plurals = new Intl.PluralRules(lang);

    // t('startedAt', {when: '…'}); a plural string takes its form from params.count.
    function t(key, params) {
      let text = strings[key] !== undefined ? strings[key] : STRINGS.en[key];
      if (typeof text === 'object') {
        text = text[plurals.select(params.count)] || text.other;
      }
      return text.replace(/\{(\w+)\}/g, (match, name) => (params && name in params ? String(params[name]) : match));
    }

    return { lang: lang, t: t };
  }

  return { forLocale: forLocale, languages: Object.keys(STRINGS) };
})();
