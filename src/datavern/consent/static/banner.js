/* Datavern cookie banner. One file, no dependencies, ES2017. How to embed it: docs/cookie-banner.md.
 *
 * It asks for consent per category and per service (from the register's cookies), runs scripts
 * marked type="text/plain" data-category="..." only after consent, honours Global Privacy
 * Control, posts every choice to the Datavern consent ledger as proof (GDPR art. 7(1)), keeps the
 * choice in a first-party cookie and asks again when a consent text changes. It talks to no one
 * but the Datavern origin it was loaded from. Texts from the server are set with textContent,
 * never parsed as HTML. */
(() => {
  'use strict';
  const me = document.currentScript;
  if (!me || window.datavernConsent) return;
  const d = document;
  const ORIGIN = new URL(me.src, location.href).origin;
  const API = ORIGIN + '/api/v1/consent/banner';
  const NAME = 'datavern_consent';
  const NECESSARY = 'necessary';
  const OPEN = 'data-datavern-consent-open';
  const htmlLang = (me.getAttribute('data-lang') || d.documentElement.lang || 'nb').toLowerCase();
  const lang = htmlLang.slice(0, 2) === 'en' ? 'en' : 'nb';

  // Built-in wording; the server's `texts` override any key.
  const T = {
    nb: {
      title: 'Informasjonskapsler',
      intro: 'Vi bruker informasjonskapsler som trengs for at nettstedet skal virke. Andre informasjonskapsler bruker vi bare hvis du sier ja. Du kan ombestemme deg når som helst.',
      accept_all: 'Godta alle',
      reject_all: 'Avvis alle',
      customize: 'Tilpass',
      asking: 'Vi ber om samtykke til',
      and: ' og ',
      save: 'Lagre valgene',
      always_on: 'Alltid på',
      cookies: 'Informasjonskapsler',
      provider: 'Levert av',
      duration: 'Varighet',
      session: 'til du lukker nettleseren',
      privacy_link: 'Les personvernerklæringen',
      gpc_title: 'Du har sagt nei til sporing',
      gpc_text: 'Nettleseren din sender signalet Global Privacy Control. Derfor bruker vi bare informasjonskapslene som trengs for at nettstedet skal virke, og vi har lagret at du har sagt nei til resten.',
      ok: 'OK',
      settings: 'Innstillinger',
      saved: 'Valget ditt er lagret.',
      unit: { Y: ['år', 'år'], M: ['måned', 'måneder'], W: ['uke', 'uker'], D: ['dag', 'dager'], H: ['time', 'timer'] },
    },
    en: {
      title: 'Cookies',
      intro: 'We use the cookies this website needs to work. We use other cookies only if you say yes. You can change your mind at any time.',
      accept_all: 'Accept all',
      reject_all: 'Reject all',
      customize: 'Customise',
      asking: 'We ask for your consent to',
      and: ' and ',
      save: 'Save choices',
      always_on: 'Always on',
      cookies: 'Cookies',
      provider: 'Provided by',
      duration: 'Duration',
      session: 'until you close the browser',
      privacy_link: 'Read the privacy notice',
      gpc_title: 'You have opted out of tracking',
      gpc_text: 'Your browser sends the Global Privacy Control signal. We therefore use only the cookies this website needs to work, and we have recorded that you declined the rest.',
      ok: 'OK',
      settings: 'Settings',
      saved: 'Your choice has been saved.',
      unit: { Y: ['year', 'years'], M: ['month', 'months'], W: ['week', 'weeks'], D: ['day', 'days'], H: ['hour', 'hours'] },
    },
  }[lang];

  let cfg = null; // the banner config from the server, normalised by norm()
  let state = readState(); // the stored choice, or null
  let box = null; // the banner element while shown
  let returnFocus = null;
  const ran = new Set(); // categories and services whose scripts ran on this page
  let trusted = false; // until the config confirms the stored choice, only necessary scripts run

  // --- helpers --------------------------------------------------------------------------------

  function el(tag, attrs, ...kids) {
    const e = d.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v === false || v == null) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'on') e.addEventListener('click', v);
      else if (k in e && typeof v !== 'string') e[k] = v;
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids) if (c) e.append(c);
    return e;
  }

  function visitorId() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    const h = Array.from(b, (x) => (x < 16 ? '0' : '') + x.toString(16)).join('');
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join('-');
  }

  function cookieNames() {
    return d.cookie ? d.cookie.split(';').map((c) => c.split('=')[0].trim()) : [];
  }

  function readState() {
    for (const c of d.cookie.split(';')) {
      const i = c.indexOf('=');
      if (c.slice(0, i).trim() !== NAME) continue;
      try {
        const s = JSON.parse(decodeURIComponent(c.slice(i + 1)));
        if (s && s.id && s.c && s.v) return s;
      } catch (e) {
        /* a damaged cookie counts as no choice */
      }
    }
    return null;
  }

  function writeState(s) {
    state = s;
    const days = (cfg && cfg.maxAgeDays) || 365;
    const domain = me.getAttribute('data-cookie-domain');
    d.cookie = NAME + '=' + encodeURIComponent(JSON.stringify(s)) + '; path=/; max-age=' + days * 86400 +
      '; SameSite=Lax' + (domain ? '; domain=' + domain : '') + (location.protocol === 'https:' ? '; Secure' : '');
  }

  // Delete a cookie on this host and on every parent domain it may have been set on
  // (a script on www.example.no often writes to .example.no).
  function deleteCookie(name) {
    const host = location.hostname;
    const domains = [''];
    if (!/^[\d.]+$|:/.test(host)) {
      const p = host.split('.');
      for (let i = 0; i < p.length - 1; i++) domains.push('; domain=.' + p.slice(i).join('.'));
    }
    const paths = ['/', location.pathname];
    for (const dom of domains) for (const path of paths) d.cookie = name + '=; max-age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=' + path + dom;
  }

  // Cookie names from the register may end in or hold "*" (`_ga_*`): a prefix or pattern.
  function matcher(pattern) {
    const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
    return (n) => re.test(n);
  }

  // Delete the cookies of everything not allowed now: services said no to, and cookies
  // of a category not allowed as a whole unless an allowed service of it lists them too.
  function deleteRefused() {
    const keep = new Set([NAME]);
    const drop = [];
    for (const c of cfg.optional) {
      for (const s of c.services) {
        if (allowed(c.key, s.key)) s.cookies.forEach((k) => keep.add(k.name));
        else drop.push(...s.cookies);
      }
      if (!categoryOk(c.key)) drop.push(...c.cookies);
    }
    const names = cookieNames();
    for (const ck of drop) if (!keep.has(ck.name)) names.filter(matcher(ck.name)).forEach(deleteCookie);
  }

  function duration(v) {
    if (!v || v === 'session') return T.session;
    const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(\d+)H)?$/.exec(v);
    if (!m) return v;
    const out = [];
    'YMWDH'.split('').forEach((u, i) => {
      const n = +m[i + 1];
      if (n) out.push(n + ' ' + T.unit[u][n === 1 ? 0 : 1]);
    });
    return out.join(' ') || v;
  }

  // --- config from the server --------------------------------------------------------------

  function cookies(list) {
    return (list || []).map((k) => (typeof k === 'string' ? { name: k } : k));
  }

  function norm(raw) {
    const cats = (raw.categories || []).map((c) => ({
      key: c.key,
      name: c.name || c.key,
      description: c.description || '',
      required: c.key === NECESSARY || !!c.required,
      services: (c.services || []).map((s) => ({
        key: s.key,
        name: s.name || s.key,
        description: s.description || s.text || '',
        provider: s.provider || '',
        cookies: cookies(s.cookies),
      })),
      cookies: cookies(c.cookies),
    }));
    Object.assign(T, raw.texts || {});
    return {
      cats,
      optional: cats.filter((c) => !c.required),
      versions: raw.versions || raw.text_versions || {},
      nonce: raw.nonce,
      gpc: raw.gpc === true,
      privacyUrl: raw.privacy_url || raw.notice_url || '',
      maxAgeDays: raw.cookie_max_age_days || 0,
    };
  }

  async function loadConfig() {
    const r = await fetch(API + '/config?lang=' + lang, { credentials: 'omit', cache: 'no-store' });
    if (!r.ok) throw new Error('config ' + r.status);
    cfg = norm(await r.json());
    return cfg;
  }

  function sameVersions(s) {
    if (!s || !s.v) return false;
    for (const k in cfg.versions) if (s.v[k] !== cfg.versions[k]) return false;
    return true;
  }

  // --- what is allowed ---------------------------------------------------------------------

  function serviceOk(key) {
    return !!(state && state.s && state.s[key] === true);
  }

  function categoryOk(key) {
    return key === NECESSARY || !!(state && state.c && state.c[key] === true);
  }

  function allowed(category, service) {
    if (category === NECESSARY) return true;
    if (!trusted) return false;
    // A script tied to one service runs when that service is allowed; a script tied only to a
    // category runs when the whole category is allowed (it may belong to any of its services).
    if (service && state && state.s && service in state.s) return serviceOk(service);
    return categoryOk(category);
  }

  // --- script activation -------------------------------------------------------------------

  function activate(root) {
    const list = (root || d).querySelectorAll('script[type="text/plain"][data-category]');
    for (const old of list) {
      const cat = old.getAttribute('data-category');
      const svc = old.getAttribute('data-service');
      if (!allowed(cat, svc)) continue;
      const s = d.createElement('script');
      for (const a of old.attributes) if (a.name !== 'type') s.setAttribute(a.name, a.value);
      s.type = old.getAttribute('data-type') || 'text/javascript';
      // A page with a strict Content-Security-Policy puts its nonce on the blocked script; the
      // browser hides the attribute, so copy the property.
      if (old.nonce) s.nonce = old.nonce;
      if (old.src) s.async = old.hasAttribute('async');
      else s.text = old.text;
      // Remember what ran, by the unit its consent was checked on (see allowed()).
      ran.add(svc && state && state.s && svc in state.s ? svc : cat);
      old.replaceWith(s);
    }
  }

  // --- posting the proof -------------------------------------------------------------------

  async function post(s, again) {
    if (!cfg.nonce) await loadConfig();
    const body = {
      nonce: cfg.nonce,
      visitor_id: s.id,
      method: s.m,
      lang,
      categories: s.c,
      services: s.s,
      text_versions: s.v, // what the visitor was shown, even if a newer text came meanwhile
      // The collection point without query or fragment, which may hold personal data.
      url: location.origin + location.pathname,
    };
    cfg.nonce = null; // single use: the next post fetches a fresh one
    const r = await fetch(API, {
      method: 'POST',
      credentials: 'omit',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!r.ok) {
      // A nonce that expired (a page left open for a day), was used or is unknown (the
      // server's key changed): once more with a fresh one.
      if (!again && [400, 403, 409].indexOf(r.status) >= 0) return post(s, true);
      throw new Error('post ' + r.status);
    }
    const j = await r.json().catch(() => ({}));
    if (j && j.nonce) cfg.nonce = j.nonce;
  }

  // Record a decision: store it locally at once (a refusal must hold even when the network
  // fails), post it, and keep a `p` (pending) mark until the ledger has it.
  async function decide(method, cats, svcs, gpc) {
    const before = state;
    const s = { id: (state && state.id) || visitorId(), v: cfg.versions, c: cats, s: svcs, m: method, t: Date.now(), p: 1 };
    if (gpc) s.g = 1;
    writeState(s);
    deleteRefused();
    const stopped = cfg.optional.some((c) => (!cats[c.key] && ran.has(c.key)) || c.services.some((x) => !svcs[x.key] && ran.has(x.key)));
    activate();
    try {
      await post(s);
      delete s.p;
      writeState(s);
    } catch (e) {
      /* retried with a fresh nonce on the next page view */
    }
    d.dispatchEvent(new CustomEvent('datavern:consent', { detail: api.get() }));
    // A withdrawn script that already ran keeps running until the page is left: reload so that
    // it stops, now that its cookies are gone (art. 7(3): withdrawal as easy as consent).
    if (stopped && before) location.reload();
  }

  function choiceFrom(all) {
    const cats = {};
    const svcs = {};
    for (const c of cfg.optional) {
      cats[c.key] = all;
      for (const s of c.services) svcs[s.key] = all;
    }
    return [cats, svcs];
  }

  // --- the banner ---------------------------------------------------------------------------

  function close() {
    if (!box) return;
    box.remove();
    box = null;
    if (returnFocus && returnFocus.focus) returnFocus.focus();
    returnFocus = null;
  }

  function button(key, on) {
    return el('button', { type: 'button', class: 'dv-cb-btn', 'data-dv': key, text: T[key], on });
  }

  function shell(labelKey, textKey) {
    close();
    returnFocus = d.activeElement;
    const head = el('h2', { id: 'dv-cb-title', class: 'dv-cb-title', text: T[labelKey] });
    const text = el('p', { id: 'dv-cb-text', class: 'dv-cb-text', text: T[textKey] + ' ' });
    if (cfg.privacyUrl) text.append(el('a', { href: cfg.privacyUrl, text: T.privacy_link }));
    box = el('div', {
      class: 'dv-cb',
      role: 'dialog',
      'aria-labelledby': 'dv-cb-title',
      'aria-describedby': 'dv-cb-text',
      lang,
      tabindex: '-1',
    }, head, text);
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && box.classList.contains('dv-cb-reopened')) close();
    });
    return box;
  }

  function show(b) {
    d.body.append(b);
    b.focus();
  }

  function cookieList(svc) {
    if (!svc.cookies.length) return null;
    const ul = el('ul', { class: 'dv-cb-cookies' });
    for (const ck of svc.cookies) {
      const bits = [ck.purpose, ck.provider ? T.provider + ' ' + ck.provider : '', T.duration + ': ' + duration(ck.duration)];
      ul.append(el('li', {}, el('code', { text: ck.name }), ' – ' + bits.filter(Boolean).join('. ')));
    }
    return el('details', {}, el('summary', { text: T.cookies + ' (' + svc.cookies.length + ')' }), ul);
  }

  // One row per category; per-service boxes under it. Nothing is ticked unless the visitor
  // ticked it before (a reopened banner shows the current choice).
  function preferences() {
    const form = el('div', { class: 'dv-cb-prefs' });
    for (const c of cfg.cats) {
      const id = 'dv-cb-c-' + c.key;
      const row = el('div', { class: 'dv-cb-cat' });
      const box_ = el('input', {
        type: 'checkbox',
        id,
        'data-cat': c.key,
        checked: c.required || categoryOk(c.key),
        disabled: c.required,
        'aria-describedby': id + '-d',
      });
      const label = el('label', { for: id }, box_, ' ', el('strong', { text: c.name }));
      if (c.required) label.append(' ', el('span', { class: 'dv-cb-always', text: '(' + T.always_on + ')' }));
      row.append(label, el('p', { id: id + '-d', class: 'dv-cb-desc', text: c.description }));
      const svcBoxes = [];
      for (const s of c.services) {
        const sid = 'dv-cb-s-' + s.key;
        const item = el('div', { class: 'dv-cb-svc' });
        if (c.required || c.services.length === 1) {
          // Nothing to choose per service: list what the category holds.
          item.append(el('p', { class: 'dv-cb-desc' }, el('strong', { text: s.name }), s.description ? ' – ' + s.description : ''));
        } else {
          const sb = el('input', { type: 'checkbox', id: sid, 'data-svc': s.key, 'data-of': c.key, checked: serviceOk(s.key) });
          svcBoxes.push(sb);
          item.append(el('label', { for: sid }, sb, ' ', s.name), el('p', { class: 'dv-cb-desc', text: s.description }));
        }
        const list = cookieList(s);
        if (list) item.append(list);
        row.append(item);
      }
      if (svcBoxes.length) {
        const sync = () => {
          const on = svcBoxes.filter((b) => b.checked).length;
          box_.checked = on === svcBoxes.length;
          box_.indeterminate = on > 0 && on < svcBoxes.length;
        };
        box_.addEventListener('change', () => svcBoxes.forEach((b) => { b.checked = box_.checked; }));
        svcBoxes.forEach((b) => b.addEventListener('change', sync));
        sync();
      }
      form.append(row);
    }
    return form;
  }

  function readPreferences() {
    const cats = {};
    const svcs = {};
    for (const c of cfg.optional) {
      const cb = box.querySelector('[data-cat="' + c.key + '"]');
      let all = c.services.length > 0;
      for (const s of c.services) {
        const sb = box.querySelector('[data-svc="' + s.key + '"]');
        svcs[s.key] = sb ? sb.checked : cb.checked;
        all = all && svcs[s.key];
      }
      cats[c.key] = c.services.length ? all : cb.checked;
    }
    return [cats, svcs];
  }

  function openBanner(withPrefs, reopened) {
    const b = shell('title', 'intro');
    if (reopened) b.classList.add('dv-cb-reopened');
    // Name what consent is asked for on the first layer too, not only under "Tilpass".
    const names = [].concat(...cfg.optional.map((c) => (c.services.length ? c.services.map((s) => s.name) : [c.name])));
    const last = names.pop();
    b.append(el('p', { id: 'dv-cb-ask', class: 'dv-cb-text', text: T.asking + ': ' + (names.length ? names.join(', ') + T.and : '') + last + '.' }));
    b.setAttribute('aria-describedby', 'dv-cb-text dv-cb-ask');
    const prefs = preferences();
    prefs.hidden = !withPrefs;
    const gpcNow = gpcSignal();
    const done = (method, choice) => () => {
      close();
      decide(method, choice[0], choice[1], gpcNow);
    };
    const third = button(withPrefs ? 'save' : 'customize', () => {
      if (prefs.hidden) {
        prefs.hidden = false;
        third.textContent = T.save;
        third.setAttribute('data-dv', 'save');
        const first = prefs.querySelector('input:not([disabled])');
        if (first) first.focus();
      } else {
        done('banner_custom', readPreferences())();
      }
    });
    if (withPrefs) third.setAttribute('data-dv', 'save');
    b.append(
      prefs,
      el('div', { class: 'dv-cb-btns' },
        button('accept_all', () => done('banner_accept_all', choiceFrom(true))()),
        button('reject_all', () => done('banner_reject_all', choiceFrom(false))()),
        third));
    show(b);
  }

  function gpcNote() {
    const b = shell('gpc_title', 'gpc_text');
    b.classList.add('dv-cb-note');
    b.append(el('div', { class: 'dv-cb-btns' }, button('ok', close), button('settings', () => openBanner(true, true))));
    show(b);
  }

  function gpcSignal() {
    return navigator.globalPrivacyControl === true || !!(cfg && cfg.gpc);
  }

  async function open() {
    try {
      if (!cfg) await loadConfig();
    } catch (e) {
      return;
    }
    if (cfg.optional.length) openBanner(true, true);
  }

  // --- start -------------------------------------------------------------------------------

  const api = {
    open,
    get: () => (state ? { visitorId: state.id, method: state.m, categories: Object.assign({}, state.c), services: Object.assign({}, state.s || {}) } : null),
    allowed,
  };
  window.datavernConsent = api;

  d.addEventListener('click', (e) => {
    const t = e.target.closest && e.target.closest('[' + OPEN + ']');
    if (!t) return;
    e.preventDefault();
    open();
  });

  async function start() {
    activate();
    try {
      await loadConfig();
    } catch (e) {
      // Datavern cannot be reached: honour a stored choice, ask nothing.
      trusted = true;
      activate();
      return;
    }
    trusted = true;
    if (!cfg.optional.length) return;
    const current = sameVersions(state);
    if (gpcSignal() && !(current && state.g)) {
      // GPC is a refusal of everything optional (recorded as such); a choice the visitor
      // made on this site while sending GPC stands until a text changes.
      const c = choiceFrom(false);
      await decide('gpc', c[0], c[1], true);
      gpcNote();
      return;
    }
    if (!current) {
      if (state) {
        // A consent text changed: the old consent no longer counts; ask again.
        const c = choiceFrom(false);
        state = { id: state.id, v: {}, c: c[0], s: c[1] };
        deleteRefused();
      }
      openBanner(false, false);
      return;
    }
    activate();
    if (state.p) {
      decide(state.m, state.c, state.s || {}, !!state.g);
    }
    // Refused categories: remove any of their cookies that are still around.
    deleteRefused();
  }

  // Scripts added to the page later (single-page apps) are held back or run the same way.
  new MutationObserver((ms) => {
    if (ms.some((m) => Array.from(m.addedNodes).some((n) => n.nodeName === 'SCRIPT' && n.type === 'text/plain'))) activate();
  }).observe(d.documentElement, { childList: true, subtree: true });

  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start);
  else start();
})();
