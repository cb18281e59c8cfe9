/* www/app.js - the citizens' page: choose a signed file, send it to
 * POST /api/v1/verify, show the verdict in plain Japanese (or English).
 *
 * Security rules this file keeps (nginx sends "script-src 'self';
 * style-src 'self'"):
 *   - every text from the verdict or from a file name goes into the page with
 *     textContent or an attribute set by setAttribute on an element we made,
 *     never through a sink that parses HTML;
 *   - no inline style: the look is chosen by class names in app.css;
 *   - no eval, no Function(), no timers with strings;
 *   - fail closed: only indication === "TOTAL_PASSED" is ever shown as valid;
 *     anything else unknown is shown as "cannot be determined".
 * Personal data (JPKI name, address, date of birth, sex) is shown on the
 * screen and nowhere else: not stored, not sent anywhere, not logged.
 */
'use strict';

(function () {
  var DICT = window.KENSHO_I18N;
  if (!DICT) {
    return;
  }
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var SIG_EXT = /\.(p7s|p7m|xml|xtx|zip|pdf|pem|p7b|p7c|b64)$/i;
  var TIMEOUT_MS = 120000;
  var ERAS = {
    meiji: [1868, '明治', 'Meiji'],
    taisho: [1912, '大正', 'Taishō'],
    showa: [1926, '昭和', 'Shōwa'],
    heisei: [1989, '平成', 'Heisei'],
    reiwa: [2019, '令和', 'Reiwa']
  };

  var state = {
    lang: 'ja',
    sig: null,        // File
    contents: [],     // File[]
    xhr: null,
    busy: null,       // {key, vars} of the progress text
    formError: null,  // {key, vars}
    result: null,     // {kind: 'verdict'|'problem', ..., jws (when signed)}
    canSign: false    // /readyz names a verdict_signing check
  };

  function $(id) {
    return document.getElementById(id);
  }

  function metaInt(name, dflt) {
    var m = document.querySelector('meta[name="' + name + '"]');
    var v = m ? parseInt(m.getAttribute('content'), 10) : NaN;
    return isFinite(v) && v > 0 ? v : dflt;
  }
  var MAX_BYTES = metaInt('kensho-max-bytes', 20971520);
  var MAX_FILES = metaInt('kensho-max-files', 16);

  /* ---- words ---- */

  function t(key, vars) {
    var s = DICT[state.lang][key];
    if (s === undefined) {
      s = DICT.ja[key];
    }
    if (s === undefined) {
      return key;
    }
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, function (all, k) {
        return Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : all;
      });
    }
    return s;
  }

  function has(key) {
    return Object.prototype.hasOwnProperty.call(DICT.ja, key);
  }

  /* The verdict's own bilingual text {code, en, ja}. */
  function vtext(o) {
    if (!o || typeof o !== 'object') {
      return '';
    }
    var s = state.lang === 'en' ? o.en : o.ja;
    if (typeof s !== 'string' || s === '') {
      s = typeof o.ja === 'string' ? o.ja : (typeof o.en === 'string' ? o.en : '');
    }
    return s;
  }

  function initialLang() {
    var q = null;
    try {
      q = new URLSearchParams(window.location.search).get('lang');
    } catch (e) {
      q = null;
    }
    if (q === 'ja' || q === 'en') {
      return q;
    }
    try {
      var saved = window.localStorage.getItem('kensho.lang');
      if (saved === 'ja' || saved === 'en') {
        return saved;
      }
    } catch (e) {
      /* storage may be disabled: the browser's languages decide */
    }
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'ja'];
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i]).toLowerCase();
      if (l.indexOf('ja') === 0) {
        return 'ja';
      }
      if (l.indexOf('en') === 0) {
        return 'en';
      }
    }
    return 'ja';
  }

  /* ---- DOM helpers (no HTML strings anywhere) ---- */

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) {
      e.className = cls;
    }
    if (text !== undefined && text !== null) {
      e.textContent = String(text);
    }
    return e;
  }

  function add(parent) {
    for (var i = 1; i < arguments.length; i++) {
      if (arguments[i]) {
        parent.appendChild(arguments[i]);
      }
    }
    return parent;
  }

  function icon(id, cls) {
    var svg = document.createElementNS(SVG_NS, 'svg');
    svg.setAttribute('class', cls);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    var use = document.createElementNS(SVG_NS, 'use');
    use.setAttribute('href', '#' + id);
    svg.appendChild(use);
    return svg;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  /* A <dl> of [label, value] rows; value is a string or a Node; empty
   * values are left out. */
  function dl(rows, cls) {
    var d = el('dl', cls || 'facts');
    rows.forEach(function (r) {
      if (r[1] === undefined || r[1] === null || r[1] === '') {
        return;
      }
      var row = el('div', 'fact');
      add(row, el('dt', null, r[0]));
      var dd = el('dd');
      if (typeof r[1] === 'object') {
        dd.appendChild(r[1]);
      } else {
        dd.textContent = String(r[1]);
      }
      if (r[2]) {
        dd.className = r[2];
      }
      add(d, add(row, dd));
    });
    return d;
  }

  function section(titleKey, cls) {
    var s = el('section', 'block' + (cls ? ' ' + cls : ''));
    add(s, el('h2', 'block-title', t(titleKey)));
    return s;
  }

  /* ---- formatting ---- */

  function fmtSize(n) {
    if (n < 1024) {
      return t('size_bytes', {n: n});
    }
    if (n < 1024 * 1024) {
      return t('size_kib', {n: (n / 1024).toFixed(n < 10240 ? 1 : 0)});
    }
    return t('size_mib', {n: (n / 1048576).toFixed(1)});
  }

  var fmtCache = {};
  function timeFormatter() {
    if (!fmtCache[state.lang]) {
      var opts = {
        timeZone: 'Asia/Tokyo', year: 'numeric', month: 'long', day: 'numeric',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false
      };
      try {
        fmtCache[state.lang] = new Intl.DateTimeFormat(state.lang === 'en' ? 'en-GB' : 'ja-JP', opts);
      } catch (e) {
        fmtCache[state.lang] = null;
      }
    }
    return fmtCache[state.lang];
  }

  /* An RFC 3339 time from the verdict, shown in Japan time. */
  function timeNode(iso) {
    if (typeof iso !== 'string' || iso === '') {
      return null;
    }
    var node = el('time');
    node.setAttribute('datetime', iso);
    var d = new Date(iso);
    var f = timeFormatter();
    node.textContent = isNaN(d.getTime()) || !f ? iso : f.format(d) + t('tz_suffix');
    return node;
  }

  function timeText(iso) {
    var n = timeNode(iso);
    return n ? n.textContent : '';
  }

  /* A validity bound: the day is enough for a resident (Japan time). */
  function dateText(iso) {
    var d = new Date(String(iso || ''));
    if (isNaN(d.getTime())) {
      return String(iso || '');
    }
    try {
      return new Intl.DateTimeFormat(state.lang === 'en' ? 'en-GB' : 'ja-JP',
        {timeZone: 'Asia/Tokyo', year: 'numeric', month: 'long', day: 'numeric'}).format(d);
    } catch (e) {
      return String(iso);
    }
  }

  function fmtDob(date, era) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(date || ''));
    if (!m) {
      return String(date || '');
    }
    var y = +m[1], mo = +m[2], d = +m[3];
    var e = ERAS[era];
    if (state.lang === 'en') {
      var s;
      try {
        s = new Intl.DateTimeFormat('en-GB', {day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC'})
          .format(new Date(Date.UTC(y, mo - 1, d)));
      } catch (x) {
        s = date;
      }
      return e ? s + ' (' + e[2] + ' ' + (y - e[0] + 1) + ')' : s;
    }
    var g = y + '年' + mo + '月' + d + '日';
    if (!e) {
      return g;
    }
    var n = y - e[0] + 1;
    return e[1] + (n === 1 ? '元' : n) + '年' + mo + '月' + d + '日（' + y + '年）';
  }

  /* "CN=a,OU=b,O=c,C=JP" -> {CN: ['a'], OU: ['b'], ...}; display only. */
  function dnParts(dn) {
    var out = {};
    String(dn || '').split(/,(?=\s*[A-Za-z][A-Za-z0-9.-]*=)/).forEach(function (p) {
      var i = p.indexOf('=');
      if (i <= 0) {
        return;
      }
      var k = p.slice(0, i).trim();
      (out[k] = out[k] || []).push(p.slice(i + 1).replace(/\\(.)/g, '$1').trim());
    });
    return out;
  }

  function dnName(dn) {
    var p = dnParts(dn);
    return (p.CN && p.CN[0]) || (p.OU && p.OU[0]) || (p.O && p.O[0]) || String(dn || '');
  }

  function dnOrg(dn) {
    var p = dnParts(dn);
    return [].concat(p.O || [], p.OU || [], p.L || []).join(' / ');
  }

  function baseName(path) {
    var s = String(path || '');
    return s.slice(s.lastIndexOf('/') + 1);
  }

  /* ---- static text and language ---- */

  function applyLang() {
    var lang = state.lang;
    document.documentElement.setAttribute('lang', lang);
    document.title = t('page_title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (n) {
      n.textContent = t(n.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-aria]'), function (n) {
      n.setAttribute('aria-label', t(n.getAttribute('data-i18n-aria')));
    });
    Array.prototype.forEach.call(document.querySelectorAll('.lang-btn'), function (b) {
      b.setAttribute('aria-pressed', b.getAttribute('data-lang') === lang ? 'true' : 'false');
    });
    renderChosen();
    renderFormError();
    renderBusy();
    renderResult(false);
  }

  function setLang(lang) {
    if (lang !== 'ja' && lang !== 'en') {
      return;
    }
    state.lang = lang;
    try {
      window.localStorage.setItem('kensho.lang', lang);
    } catch (e) {
      /* not remembered: fine */
    }
    applyLang();
  }

  /* ---- choosing files ---- */

  function fileItem(f, onRemove) {
    var li = el('li', 'chosen-item');
    add(li, icon('i-file', 'chosen-icon'));
    add(li, el('span', 'chosen-name', f.name));
    add(li, el('span', 'chosen-size', fmtSize(f.size)));
    var b = el('button', 'btn-link', t('remove'));
    b.type = 'button';
    b.setAttribute('aria-label', t('remove_label', {name: f.name}));
    b.addEventListener('click', onRemove);
    add(li, b);
    return li;
  }

  function renderChosen() {
    var s = $('sig-chosen'), c = $('content-chosen');
    clear(s);
    clear(c);
    if (state.sig) {
      add(s, fileItem(state.sig, function () {
        state.sig = null;
        renderChosen();
        $('sig-input').focus();
      }));
    }
    state.contents.forEach(function (f, i) {
      add(c, fileItem(f, function () {
        state.contents.splice(i, 1);
        renderChosen();
        $('content-input').focus();
      }));
    });
  }

  function takeFiles(list, forSignature) {
    var files = Array.prototype.slice.call(list || []);
    if (!files.length) {
      return;
    }
    if (forSignature) {
      // Several files dropped on the signature: the signature-looking one is
      // the signature, the rest are the signed document(s).
      var i = 0;
      for (var k = 0; k < files.length; k++) {
        if (SIG_EXT.test(files[k].name)) {
          i = k;
          break;
        }
      }
      state.sig = files.splice(i, 1)[0];
    }
    files.forEach(function (f) {
      state.contents.push(f);
    });
    setFormError(null);
    renderChosen();
  }

  function wireDrop(zoneId, inputId, forSignature) {
    var zone = $(zoneId), input = $(inputId);
    input.addEventListener('change', function () {
      takeFiles(input.files, forSignature);
      input.value = ''; // the same file can be chosen again
    });
    zone.addEventListener('dragover', function (e) {
      e.preventDefault();
      if (e.dataTransfer) {
        e.dataTransfer.dropEffect = 'copy';
      }
      zone.classList.add('drag');
    });
    zone.addEventListener('dragleave', function () {
      zone.classList.remove('drag');
    });
    zone.addEventListener('drop', function (e) {
      e.preventDefault();
      zone.classList.remove('drag');
      if (e.dataTransfer) {
        takeFiles(e.dataTransfer.files, forSignature);
      }
    });
  }

  function setFormError(err) {
    state.formError = err;
    renderFormError();
  }

  function renderFormError() {
    var box = $('form-error');
    if (!state.formError) {
      box.hidden = true;
      clear(box);
      return;
    }
    box.textContent = t(state.formError.key, state.formError.vars);
    box.hidden = false;
  }

  /* ---- sending ---- */

  function setBusy(b) {
    state.busy = b;
    renderBusy();
  }

  function renderBusy() {
    var p = $('progress');
    var busy = !!state.busy;
    var shown = !p.hidden;
    p.hidden = !busy;
    // While it runs, the progress takes the form's place.
    $('form').hidden = busy || !!state.result;
    if (busy && !shown) {
      p.focus();
    }
    $('check').disabled = busy;
    $('reset').disabled = busy;
    $('form').setAttribute('aria-busy', busy ? 'true' : 'false');
    if (!busy) {
      return;
    }
    $('progress-text').textContent = t(state.busy.key, state.busy.vars);
    var bar = $('progress-bar');
    if (state.busy.vars && typeof state.busy.vars.pct === 'number') {
      bar.setAttribute('value', String(state.busy.vars.pct));
    } else {
      bar.removeAttribute('value'); // indeterminate while the server checks
    }
  }

  function validate() {
    if (!state.sig) {
      return {key: 'err_need_sig'};
    }
    var all = [state.sig].concat(state.contents);
    if (all.length > MAX_FILES) {
      return {key: 'err_too_many', vars: {n: MAX_FILES}};
    }
    var total = 0;
    for (var i = 0; i < all.length; i++) {
      if (all[i].size === 0) {
        return {key: 'err_empty', vars: {name: all[i].name}};
      }
      total += all[i].size;
    }
    // multipart adds a few hundred bytes per part
    if (total + 512 * all.length > MAX_BYTES) {
      return {key: 'err_too_large', vars: {size: fmtSize(total), limit: fmtSize(MAX_BYTES)}, tooLarge: true};
    }
    return null;
  }

  function submit(ev) {
    ev.preventDefault();
    if (state.xhr) {
      return;
    }
    var err = validate();
    if (err) {
      setFormError(err);
      (state.sig ? $('check') : $('sig-input')).focus();
      return;
    }
    setFormError(null);
    state.result = null;
    renderResult(false);
    var files = [state.sig].concat(state.contents).map(function (f) {
      return f.name;
    });
    var fd = new FormData();
    fd.append('signature', state.sig, state.sig.name);
    state.contents.forEach(function (f) {
      fd.append('content', f, f.name);
    });
    var xhr = new XMLHttpRequest();
    state.xhr = xhr;
    // When the service can sign, the one check asks for the signed verdict
    // (?sign=1, a compact JWS): the page shows the verdict inside it and the
    // download saves exactly that answer, with the same request id and
    // audit record; no second verification that could differ.
    xhr.open('POST', state.canSign ? 'api/v1/verify?sign=1' : 'api/v1/verify');
    xhr.timeout = TIMEOUT_MS;
    xhr.setRequestHeader('Accept', state.canSign ? 'application/jose, application/problem+json' :
      'application/json, application/problem+json');
    xhr.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable && e.total > 0 && e.loaded < e.total && state.xhr === xhr) {
        setBusy({key: 'progress_upload', vars: {pct: Math.min(100, Math.round(100 * e.loaded / e.total))}});
      }
    });
    xhr.upload.addEventListener('load', function () {
      if (state.xhr === xhr) {
        setBusy({key: 'progress_verify'});
      }
    });
    function done(result) {
      state.xhr = null;
      setBusy(null);
      result.files = files;
      state.result = result;
      renderResult(true);
    }
    xhr.addEventListener('load', function () {
      done(interpret(xhr));
    });
    xhr.addEventListener('error', function () {
      done({kind: 'problem', key: 'problem_network', todo: 'problem_network_todo'});
    });
    xhr.addEventListener('timeout', function () {
      done({kind: 'problem', key: 'problem_timeout', todo: 'problem_503_todo'});
    });
    // A percentage only while a large upload is under way; otherwise the
    // indeterminate "checking" state.
    setBusy({key: 'progress_verify'});
    xhr.send(fd);
  }

  /* RFC 4648 5 base64url, then UTF-8 (fatal on a bad sequence). */
  function b64urlText(s) {
    if (!/^[A-Za-z0-9_-]+$/.test(s)) {
      throw new Error('not base64url');
    }
    var b = s.replace(/-/g, '+').replace(/_/g, '/');
    while (b.length % 4) {
      b += '=';
    }
    var bin = window.atob(b);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      bytes[i] = bin.charCodeAt(i);
    }
    return new TextDecoder('utf-8', {fatal: true}).decode(bytes);
  }

  /* A signed verdict (README "Signed verdicts"): the compact JWS of
   * {"verdict", "inputs", "audit", "request_id", "signed_at", ...}.  The
   * page does not check the signature (it trusts this service as it trusts
   * its JSON answers); `bin/kensho verify-verdict` does, on the saved file.
   * Anything that does not read as one is "an unexpected answer". */
  function signedVerdict(text) {
    var parts = String(text || '').trim().split('.');
    if (parts.length !== 3 || !parts[2]) {
      return null;
    }
    try {
      var pl = JSON.parse(b64urlText(parts[1]));
      if (isObj(pl) && isObj(pl.verdict) && typeof pl.verdict.indication === 'string') {
        return {verdict: pl.verdict, jws: parts.join('.')};
      }
    } catch (e) {
      return null;
    }
    return null;
  }

  function interpret(xhr) {
    var rid = xhr.getResponseHeader('X-Request-Id') || '';
    var ct = (xhr.getResponseHeader('Content-Type') || '').toLowerCase();
    if (xhr.status === 200 && ct.indexOf('application/jose') === 0) {
      var sv = signedVerdict(xhr.responseText);
      if (sv) {
        return {kind: 'verdict', verdict: sv.verdict, jws: sv.jws, requestId: rid};
      }
    }
    var body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch (e) {
      body = null;
    }
    if (xhr.status === 200 && ct.indexOf('application/json') === 0 && body && typeof body === 'object' &&
        !Array.isArray(body) && typeof body.indication === 'string') {
      return {kind: 'verdict', verdict: body, requestId: rid};
    }
    var p = body && typeof body === 'object' && !Array.isArray(body) ? body : {};
    var st = xhr.status;
    var known = {400: 1, 413: 1, 415: 1, 429: 1, 503: 1};
    var r = {
      kind: 'problem',
      status: st,
      code: typeof p.code === 'string' ? p.code : '',
      detail: typeof p.detail === 'string' ? p.detail : '',
      requestId: typeof p.request_id === 'string' && p.request_id ? p.request_id : rid
    };
    if (known[st]) {
      r.key = 'problem_' + st;
      r.todo = 'problem_' + st + '_todo';
    } else if (st === 200) {
      r.key = 'problem_bad_answer';
      r.todo = 'problem_other_todo';
    } else {
      r.key = 'problem_other';
      r.vars = {status: st};
      r.todo = 'problem_other_todo';
    }
    return r;
  }

  /* ---- the result ---- */

  function stateOf(indication) {
    // Fail closed: only the exact word is "valid".
    if (indication === 'TOTAL_PASSED') {
      return 'TOTAL_PASSED';
    }
    if (indication === 'TOTAL_FAILED') {
      return 'TOTAL_FAILED';
    }
    return 'INDETERMINATE';
  }

  var ICON = {TOTAL_PASSED: 'i-valid', TOTAL_FAILED: 'i-invalid', INDETERMINATE: 'i-indeterminate'};
  var CLS = {TOTAL_PASSED: 'valid', TOTAL_FAILED: 'invalid', INDETERMINATE: 'indeterminate'};

  function banner(st, word, lede) {
    var b = el('div', 'banner banner-' + CLS[st]);
    b.setAttribute('data-state', CLS[st]);
    add(b, icon(ICON[st], 'banner-icon'));
    var txt = el('div', 'banner-text');
    var h = el('h2', 'banner-word', word);
    h.id = 'result-title';
    h.tabIndex = -1;
    add(txt, h, el('p', 'banner-lede', lede));
    return add(b, txt);
  }

  function printHead(r) {
    var p = el('div', 'print-only print-head');
    add(p, el('p', 'print-title', t('print_heading')));
    var pd = el('span', 'print-date');
    pd.id = 'print-date';
    pd.textContent = timeText(new Date().toISOString());
    add(p, dl([
      [t('print_date'), pd],
      [t('files_label'), (r.files || []).join(', ')]
    ], 'facts facts-compact'));
    return p;
  }

  function requestIdBox(rid) {
    var box = el('div', 'request-id');
    add(box, el('span', 'request-id-label', t('request_id')));
    var code = el('code', 'request-id-value', rid || '—');
    code.id = 'request-id';
    add(box, code);
    add(box, el('p', 'request-id-note', t('request_id_note')));
    return box;
  }

  function adviceKey(v) {
    var sub = typeof v.subindication === 'string' ? v.subindication : '';
    if (stateOf(v.indication) === 'TOTAL_PASSED') {
      return 'advice_VALID';
    }
    var reasons = Array.isArray(v.reasons) ? v.reasons : [];
    for (var i = 1; i < reasons.length; i++) {
      var k = 'advice_' + sub + '_' + (reasons[i] && reasons[i].code);
      if (has(k)) {
        return k;
      }
    }
    return has('advice_' + sub) ? 'advice_' + sub : 'advice_default';
  }

  function reasonBlock(v) {
    var s = section('reason_heading', 'block-reason');
    var reasons = Array.isArray(v.reasons) ? v.reasons : [];
    if (reasons.length) {
      var main = el('p', 'reason-main', vtext(reasons[0]));
      main.id = 'reason-main';
      add(s, main);
      if (reasons.length > 1) {
        var ul = el('ul', 'reason-more');
        reasons.slice(1).forEach(function (r) {
          var li = el('li', null, vtext(r));
          li.setAttribute('data-code', String(r && r.code || ''));
          add(ul, li);
        });
        add(s, ul);
      }
    }
    add(s, el('h3', 'todo-title', t('todo_heading')));
    var adv = el('p', 'advice', t(adviceKey(v)));
    adv.id = 'advice';
    add(s, adv);
    return s;
  }

  function signerBlock(v) {
    var sg = v.signer;
    if (!sg || typeof sg !== 'object') {
      return null;
    }
    // Only a valid signature proves who signed: otherwise the person is the
    // one the certificate names, and the page says so.
    var proven = stateOf(v.indication) === 'TOTAL_PASSED';
    var s = section(proven ? 'signer_heading' : 'signer_heading_unproven', 'block-signer');
    if (!proven) {
      var un = el('p', 'note note-unproven', t('signer_unproven'));
      un.id = 'signer-unproven';
      add(s, un);
    }
    var j = sg.jpki && typeof sg.jpki === 'object' ? sg.jpki : null;
    if (j) {
      var sex = {male: t('sex_male'), female: t('sex_female'), unknown: t('sex_unknown')}[j.sex] || '';
      add(s, dl([
        [t('name'), j.name, 'personal personal-name'],
        [t('address'), j.address, 'personal'],
        [t('dob'), j.date_of_birth ? fmtDob(j.date_of_birth, j.date_of_birth_era) : '', 'personal'],
        [t('sex'), sex, 'personal']
      ], 'facts facts-personal no-print'));
      if (/1/.test(String(j.name_substitutes || '') + String(j.address_substitutes || ''))) {
        add(s, el('p', 'note', t('substitute_note')));
      }
      var pn = el('p', 'note note-privacy no-print', t('privacy_note'));
      pn.id = 'privacy-note';
      add(s, pn);
      add(s, el('p', 'note print-only', t('privacy_print')));
    } else {
      add(s, el('p', 'note', t('not_jpki')));
    }
    add(s, dl([
      [t('cert_subject'), dnName(sg.subject)],
      [t('cert_issuer'), dnName(sg.issuer)],
      [t('cert_validity'), sg.not_before && sg.not_after ?
        t('validity_range', {from: dateText(sg.not_before), to: dateText(sg.not_after)}) : ''],
      [t('cert_serial'), sg.serial]
    ]));
    return s;
  }

  function timesBlock(v) {
    var s = section('times_heading', 'block-times');
    add(s, dl([
      [t('signing_time'), timeNode(v.signing_time) || t('signing_time_none')],
      [t('validation_time'), timeNode(v.validation_time)]
    ].concat(vmRows(v.validation_model))));
    return s;
  }

  function refsBlock(v) {
    var refs = Array.isArray(v.references) ? v.references : null;
    if (!refs || !refs.length) {
      return null;
    }
    var s = section('refs_heading', 'block-refs');
    add(s, el('p', 'block-lede', t('refs_lede')));
    var ul = el('ul', 'refs');
    refs.forEach(function (r) {
      if (!r || typeof r !== 'object') {
        return;
      }
      var ok = r.valid === true;
      var li = el('li', 'ref ' + (ok ? 'ref-ok' : 'ref-bad'));
      var type = r.type === 'same-document' ? t('ref_same_document') : r.type === 'detached' ? t('ref_detached') : t('ref_other');
      add(li, el('span', 'ref-type', type));
      add(li, el('code', 'ref-covers', r.covers || r.uri || ''));
      var badge = el('span', 'badge ' + (ok ? 'badge-good' : 'badge-bad'), ok ? t('ref_ok') : t('ref_bad'));
      add(li, badge);
      add(ul, li);
    });
    add(s, ul);
    return s;
  }

  /* warnings[] ({code, ja, en}) of a verdict, a PDF field or a timestamp. */
  function warnList(w) {
    var list = objList(w);
    if (!list.length) {
      return null;
    }
    var ul = el('ul', 'warnings');
    list.forEach(function (x) {
      var li = el('li', null, vtext(x));
      li.setAttribute('data-code', String(x.code || ''));
      add(ul, li);
    });
    return ul;
  }

  function warningsBlock(v) {
    var ul = warnList(v.warnings);
    if (!ul) {
      return null;
    }
    return add(section('warnings_heading', 'block-warnings'), ul);
  }

  function chainRole(c, i, n) {
    if (i === 0) {
      return 'role_signer';
    }
    if (c.source === 'anchor') {
      return 'role_anchor';
    }
    var name = String(c.subject || '');
    if (/bridge|ブリッジ/i.test(name)) {
      return 'role_bridge';
    }
    if (/prefecture|都道府県|-ken\b|[都道府県]知事/i.test(name)) {
      return 'role_pref';
    }
    return i === n - 1 ? 'role_anchor' : 'role_ca';
  }

  /* "unavailable" with no source consulted and no error means the check
   * stopped before this certificate (an earlier one decided the result),
   * unless nothing answered for it: the first such one of a path whose
   * result is TRY_LATER, or every one when soft-fail accepted the path
   * without a status (REVOCATION_UNAVAILABLE).  `list` is the whole
   * revocation[], `sub` and `warnings` those of its signer or timestamp. */
  function revStatusKeys(list, sub, warnings) {
    var softFail = objList(warnings).some(function (w) {
      return w.code === 'REVOCATION_UNAVAILABLE';
    });
    var blamed = false;
    return list.map(function (r) {
      var st = String(r && r.status || '');
      if (st === 'unavailable' && !r.source && !(Array.isArray(r.errors) && r.errors.length)) {
        if (softFail || (sub === 'TRY_LATER' && !blamed)) {
          blamed = true;
          return 'rev_status_unavailable';
        }
        return 'rev_status_not_checked';
      }
      if (st === 'unavailable') {
        blamed = true;
      }
      var k = 'rev_status_' + st.replace(/[^a-z_]/g, '');
      return has(k) ? k : 'rev_status_unavailable';
    });
  }

  /* Revoked after the time a timestamp proves (after_poe, ETSI EN 319
   * 102-1 5.6.2.4): the proof stands, so a caution rather than red. */
  function revClass(st, afterPoe) {
    return st === 'good' ? 'badge-good' : st === 'revoked' && afterPoe !== true ? 'badge-bad' : 'badge-warn';
  }

  function revByDepth(v) {
    var m = {};
    var list = objList(v.revocation);
    var keys = revStatusKeys(list, v.subindication, v.warnings);
    list.forEach(function (r, i) {
      if (typeof r.depth === 'number') {
        m[r.depth] = {r: r, key: keys[i]};
      }
    });
    return m;
  }

  function chainBlock(v) {
    var chain = Array.isArray(v.chain) ? v.chain : [];
    var s = section('chain_heading', 'block-chain');
    if (!chain.length) {
      add(s, el('p', 'note', t('chain_none')));
      return s;
    }
    add(s, el('p', 'block-lede', t('chain_lede')));
    var rev = revByDepth(v);
    var ol = el('ol', 'chain');
    ol.id = 'chain';
    chain.forEach(function (c, i) {
      if (!c || typeof c !== 'object') {
        return;
      }
      var role = chainRole(c, i, chain.length);
      var li = el('li', 'chain-node chain-' + role.replace('role_', ''));
      if (i > 0) {
        add(li, el('p', 'chain-link', t('chain_issued_by')));
      }
      var box = el('div', 'node-box');
      add(box, el('p', 'node-role', t(role)));
      add(box, el('p', 'node-name', dnName(c.subject)));
      var org = dnOrg(c.subject);
      if (org) {
        add(box, el('p', 'node-org', org));
      }
      if (c.not_before && c.not_after) {
        add(box, el('p', 'node-meta', t('cert_validity') + ': ' +
          t('validity_range', {from: dateText(c.not_before), to: dateText(c.not_after)})));
      }
      var srcKey = 'source_' + String(c.source || '');
      if (has(srcKey)) {
        add(box, el('p', 'node-meta', t(srcKey)));
      }
      var r = rev[i];
      if (r) {
        add(box, el('span', 'badge ' + revClass(r.r.status, r.r.after_poe), t(r.key)));
      }
      add(li, box);
      add(ol, li);
    });
    add(s, ol);
    return s;
  }

  /* A CRL/OCSP reason code (RFC 5280 5.3.1): the verdict's own words when
   * it gives them (they speak of the signer's certificate: `v` is null for
   * a TSA's), else the page's, else the code. */
  function revReasonText(v, code) {
    var reasons = v && Array.isArray(v.reasons) ? v.reasons : [];
    for (var i = 0; i < reasons.length; i++) {
      if (reasons[i] && reasons[i].code === code) {
        return vtext(reasons[i]);
      }
    }
    var k = 'crl_reason_' + String(code).replace(/[^A-Za-z]/g, '');
    return has(k) ? t(k) : code;
  }

  /* One revocation[] entry (a signer's path or a timestamp's TSA path):
   * status, where it came from, when, why.  `who` names the certificate. */
  function revItem(r, key, who, v) {
    var li = el('li', 'rev-item');
    li.setAttribute('data-status', String(r.status || ''));
    var head = el('div', 'rev-head');
    add(head, el('span', 'rev-who', who));
    add(head, el('span', 'badge ' + revClass(r.status, r.after_poe), t(key)));
    add(li, head);
    var src = r.source === 'ocsp' ? t('rev_source_ocsp') : r.source === 'crl' ? t('rev_source_crl') :
      r.source ? String(r.source) : '';
    var where = '';
    if (r.url) {
      where = String(r.url);
    } else if (r.file) {
      where = baseName(r.file);
    }
    var fromKey = {file: 'rev_from_file', network: 'rev_from_network', memory: 'rev_from_cache',
      memcached: 'rev_from_cache', message: 'source_signature'}[r.from];
    if (fromKey) {
      where = where ? where + ' (' + t(fromKey) + ')' : t(fromKey);
    }
    var errs = Array.isArray(r.errors) ? r.errors.filter(function (e) {
      return typeof e === 'string';
    }) : [];
    var revoked = r.status === 'revoked';
    add(li, dl([
      [t('rev_source'), src],
      [t('rev_where'), where],
      [t('rev_revocation_time'), timeNode(r.revocation_time), r.after_poe === true ? '' : 'emph'],
      [t('rev_reason'), r.reason ? revReasonText(v, r.reason) : '', r.after_poe === true ? '' : 'emph'],
      // Revoked, but after the time a timestamp proves: the proof stands.
      [t('rev_after_poe'), revoked && r.after_poe === true ? t('rev_after_poe_yes') : ''],
      [t('rev_this_update'), timeNode(r.this_update)],
      [t('rev_next_update'), timeNode(r.next_update)],
      [t('rev_produced_at'), timeNode(r.produced_at)],
      // Evidence carried in the signature, applied at the proven time
      // (long-term validation) rather than now.
      [t('rev_used_for'), r.at_poe === true ? timeNode(r.used_for) : null],
      [t('rev_errors'), errs.join(' / '), 'tech']
    ], 'facts facts-compact'));
    return li;
  }

  function revocationBlock(v) {
    var list = Array.isArray(v.revocation) ? v.revocation : [];
    var chain = Array.isArray(v.chain) ? v.chain : [];
    if (!list.length && !chain.length) {
      return null;
    }
    var s = section('rev_heading', 'block-rev');
    if (!list.length) {
      add(s, el('p', 'note', t('rev_none')));
      return s;
    }
    add(s, el('p', 'block-lede', t('rev_lede')));
    var ul = el('ul', 'rev-list');
    ul.id = 'revocation';
    var objs = objList(list);
    var keys = revStatusKeys(objs, v.subindication, v.warnings);
    objs.forEach(function (r, i) {
      var c = typeof r.depth === 'number' ? chain[r.depth] : null;
      var who = (c ? t(chainRole(c, r.depth, chain.length)) + ' — ' : '') + dnName(r.subject);
      add(ul, revItem(r, keys[i], who, v));
    });
    add(s, ul);
    return s;
  }

  function signersBlock(v) {
    var list = Array.isArray(v.signers) ? v.signers : [];
    if (list.length < 2) {
      return null;
    }
    var s = section('signers_heading', 'block-signers');
    var ol = el('ol', 'signers');
    list.forEach(function (x, i) {
      if (!x || typeof x !== 'object') {
        return;
      }
      var st = stateOf(x.indication);
      var li = el('li', 'signer-item');
      add(li, icon(ICON[st], 'mini-icon mini-' + CLS[st]));
      var who = x.signer && x.signer.jpki && x.signer.jpki.name ? x.signer.jpki.name :
        dnName(x.signer && x.signer.subject);
      add(li, el('span', 'signer-label', t('signer_n', {n: i + 1}) + ': ' + t('state_' + st)));
      add(li, el('span', 'signer-who', who));
      var rs = Array.isArray(x.reasons) && x.reasons.length ? vtext(x.reasons[0]) : '';
      add(li, el('span', 'signer-reason', rs));
      add(ol, li);
    });
    return add(s, ol);
  }

  /* ---- timestamps, PDF signature fields (issue #19), long-term signatures (#20) ---- */

  function isObj(x) {
    return !!x && typeof x === 'object' && !Array.isArray(x);
  }

  function objList(a) {
    return Array.isArray(a) ? a.filter(isObj) : [];
  }

  function badgeClass(st) {
    return st === 'TOTAL_PASSED' ? 'badge-good' : st === 'TOTAL_FAILED' ? 'badge-bad' : 'badge-warn';
  }

  /* A PDF date (ISO 32000-1 7.9.4, "D:YYYYMMDDHHmmSSOHH'mm'") exactly as the
   * file claims it: shown in Japan time when it names its offset, else as
   * written.  Whoever made the file wrote it: a claim, never a fact. */
  function pdfDateText(s) {
    var m = /^D:(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(Z|([+-])(\d{2})'?(\d{2})'?)$/.exec(String(s || ''));
    if (!m) {
      return String(s || '');
    }
    var off = m[7] === 'Z' ? 'Z' : m[8] + m[9] + ':' + m[10];
    var iso = m[1] + '-' + m[2] + '-' + m[3] + 'T' + m[4] + ':' + m[5] + ':' + m[6] + off;
    return isNaN(new Date(iso).getTime()) ? String(s) : timeText(iso);
  }

  function tsTypeKey(type) {
    var k = 'ts_type_' + String(type || '');
    return has(k) ? k : 'ts_type_other';
  }

  /* Why a timestamp proves nothing, in words, by its subindication (the
   * TSA path's revocation included: REVOKED, REVOKED_NO_POE, TRY_LATER). */
  function tsWhyKey(x) {
    var k = 'ts_why_' + String(x.subindication || '');
    return has(k) ? k : 'ts_why_default';
  }

  function tsRevoked(x) {
    return x.subindication === 'REVOKED' || x.subindication === 'REVOKED_NO_POE';
  }

  /* An archive-time-stamp-v3 covers what its ats-hash-index-v3 lists (ETSI
   * EN 319 122-1 5.5.2): what was added after it is not protected by it.
   * Only the counts that are not zero. */
  function notCoveredText(nc) {
    if (!isObj(nc)) {
      return '';
    }
    var parts = [['certificates', 'nc_certificates'], ['crls', 'nc_crls'],
      ['unsigned_attribute_values', 'nc_values']].filter(function (p) {
      return typeof nc[p[0]] === 'number' && nc[p[0]] > 0;
    }).map(function (p) {
      var n = nc[p[0]];
      return t(n === 1 && has(p[1] + '_1') ? p[1] + '_1' : p[1], {n: n});
    });
    return parts.length ? t('nc_sentence', {items: parts.join(t('list_sep'))}) : '';
  }

  /* timestamps[] ({type, time, tsa, indication, subindication, detail,
   * message_imprint_ok, validated_at, version, not_covered, field,
   * revocation, warnings}).  A timestamp that does not verify is shown as
   * such, with why, never left out. */
  function tsList(list) {
    var items = objList(list);
    if (!items.length) {
      return null;
    }
    var ul = el('ul', 'ts-list');
    items.forEach(function (x) {
      var st = stateOf(x.indication);
      var li = el('li', 'ts-item ts-' + CLS[st]);
      li.setAttribute('data-type', String(x.type || ''));
      li.setAttribute('data-sub', String(x.subindication || ''));
      var head = el('div', 'ts-head');
      add(head, el('span', 'ts-type', t(tsTypeKey(x.type))));
      add(head, el('span', 'badge ' + badgeClass(st), t(st === 'TOTAL_PASSED' ? 'ts_ok' : 'ts_bad')));
      add(li, head);
      if (st !== 'TOTAL_PASSED') {
        add(li, el('p', 'ts-why', t(tsWhyKey(x))));
      }
      var ver = x.type === 'archive' && (x.version === 2 || x.version === 3) ? t('ts_version_' + x.version) : '';
      add(li, dl([
        [t('ts_time'), timeNode(x.time) || t('ts_time_none')],
        [t('ts_tsa'), x.tsa ? dnName(x.tsa) : t('ts_tsa_none')],
        // PDF: the document timestamp's own signature field; CAdES archive
        // timestamps (ES-A): when the TSA's path was validated.
        [t('ts_field'), x.field ? String(x.field) : ''],
        [t('ts_version'), ver],
        [t('ts_validated_at'), x.validated_at ? timeNode(x.validated_at) : ''],
        [t('ts_imprint'), x.message_imprint_ok === true ? t('ts_imprint_ok') :
          x.message_imprint_ok === false ? t('ts_imprint_bad') : '', x.message_imprint_ok === false ? 'emph' : ''],
        [t('tech_subindication'), x.subindication, 'tech'],
        [t('tech_detail'), x.detail, 'tech']
      ], 'facts facts-compact'));
      var nc = x.type === 'archive' ? notCoveredText(x.not_covered) : '';
      if (nc) {
        add(li, el('p', 'note ts-not-covered', nc));
      }
      // The TSA's certificates, as a signer's (revocation[] of its path).
      var revs = objList(x.revocation);
      if (revs.length) {
        add(li, el('h4', 'ts-sub', t('ts_rev_heading')));
        var rl = el('ul', 'rev-list ts-rev');
        var keys = revStatusKeys(revs, x.subindication, x.warnings);
        revs.forEach(function (r, i) {
          add(rl, revItem(r, keys[i], t(r.depth === 0 ? 'role_tsa' : 'role_ca') + ' — ' + dnName(r.subject), null));
        });
        add(li, rl);
      }
      var wl = warnList(x.warnings);
      if (wl) {
        add(li, el('h4', 'ts-sub', t('warnings_heading')));
        add(li, wl);
      }
      add(ul, li);
    });
    return ul;
  }

  function timestampsBlock(v) {
    if (v.format === 'pdf') {
      return null; // shown under each signature field
    }
    var ul = tsList(v.timestamps);
    if (!ul) {
      return null;
    }
    var s = section('ts_heading', 'block-ts');
    add(s, el('p', 'block-lede', t('ts_lede')));
    ul.id = 'timestamps';
    return add(s, ul);
  }

  function modKindKey(kind) {
    var k = 'mod_' + String(kind || '');
    return has(k) ? k : 'mod_other';
  }

  function modItem(m) {
    var ok = m.allowed === true; // anything else is not allowed: fail closed
    var li = el('li', 'mod ' + (ok ? 'mod-ok' : 'mod-bad'));
    li.setAttribute('data-kind', String(m.kind || ''));
    add(li, el('span', 'mod-kind', t(modKindKey(m.kind))));
    if (m.object) {
      add(li, el('code', 'mod-object', m.object));
    }
    add(li, el('span', 'badge ' + (ok ? 'badge-good' : 'badge-bad'), t(ok ? 'mod_allowed' : 'mod_disallowed')));
    return li;
  }

  function pdfField(x, nrev) {
    var st = stateOf(x.indication);
    var isTs = x.type === 'document_timestamp';
    var li = el('li', 'pdf-field pdf-field-' + CLS[st]);
    li.setAttribute('data-field', String(x.field || ''));
    var head = el('div', 'pdf-field-head');
    add(head, icon(ICON[st], 'mini-icon mini-' + CLS[st]));
    add(head, el('span', 'pdf-field-kind', t(isTs ? 'pdf_kind_doc_ts' : 'pdf_kind_signature')));
    add(head, el('code', 'pdf-field-name', x.field || t('pdf_field_unnamed')));
    add(head, el('span', 'badge ' + badgeClass(st), t('state_' + st)));
    add(li, head);
    var reasons = objList(x.reasons);
    if (reasons.length) {
      add(li, el('p', 'pdf-field-reason', vtext(reasons[0])));
    }
    var mods = objList(x.modifications_after_signing);
    var bad = mods.filter(function (m) {
      return m.allowed !== true;
    });
    if (bad.length) {
      // What changed after signing and is not allowed: first, in red.
      var alert = el('div', 'pdf-alert');
      add(alert, el('p', 'pdf-alert-title', t('pdf_mods_bad_title')));
      var bl = el('ul', 'mods mods-bad');
      bad.forEach(function (m) {
        add(bl, modItem(m));
      });
      add(li, add(alert, bl));
    }
    var claims = isObj(x.claims) ? x.claims : {};
    var sg = isObj(x.signer) ? x.signer : null;
    var tss = objList(x.timestamps);
    // A document timestamp's TSA is its own token's (the entry also lists
    // the later document timestamps that cover it, each naming its field).
    var own = isTs ? tss.filter(function (ts) {
      return ts.field === x.field;
    })[0] || (tss.length && !tss[0].field ? tss[0] : null) : null;
    var who = sg ? dnName(sg.subject) : own && own.tsa ? dnName(own.tsa) : '';
    // Not the whole file: plain words when every later change is allowed
    // (a further signature, a timestamp), red when anything else is.
    var laterOk = x.covers_whole_document === false && mods.length > 0 && bad.length === 0;
    var cover = x.covers_whole_document === true ? t('pdf_covers_all') : laterOk ? t('pdf_covers_then') :
      x.covers_whole_document === false ? t('pdf_covers_part') : '';
    var rev = typeof x.revision === 'number' ? (typeof nrev === 'number' ?
      t('pdf_revision_of', {n: x.revision, total: nrev}) : t('pdf_revision_n', {n: x.revision})) : '';
    add(li, dl([
      [t(isTs ? 'pdf_tsa' : st === 'TOTAL_PASSED' ? 'pdf_who' : 'cert_subject'), who],
      [t('pdf_claimed_time'), claims.signing_time ? pdfDateText(claims.signing_time) : ''],
      [t('pdf_claimed_reason'), claims.reason],
      [t('pdf_claimed_location'), claims.location],
      [t('pdf_claimed_contact'), claims.contact_info],
      [t('pdf_coverage'), cover, x.covers_whole_document === true ? 'ok' : laterOk ? '' : 'emph'],
      [t('pdf_revision'), rev],
      // The DSS's per-signature entry (ETSI EN 319 142-1 5.4.2.2), when
      // its evidence was used for this signature.
      [t('pdf_dss_vri'), typeof x.dss_vri === 'string' && x.dss_vri ? t('pdf_dss_vri_used') : ''],
      [t('pdf_sub_filter'), x.sub_filter, 'tech']
    ], 'facts facts-compact'));
    var fw = warnList(x.warnings);
    if (fw) {
      // This field's own warnings (e.g. PDF_DSS_VRI_MALFORMED).
      add(li, el('h3', 'pdf-sub', t('warnings_heading')));
      add(li, fw);
    }
    if (claims.signing_time || claims.reason || claims.location || claims.contact_info) {
      add(li, el('p', 'note pdf-claims-note', t('pdf_claims_note')));
    }
    if (mods.length) {
      add(li, el('h3', 'pdf-sub', t('pdf_mods_heading')));
      var ul = el('ul', 'mods');
      mods.forEach(function (m) {
        add(ul, modItem(m));
      });
      add(li, ul);
    } else if (x.covers_whole_document === true) {
      add(li, el('p', 'note', t('pdf_mods_none')));
    }
    var tl = tsList(tss);
    if (tl) {
      add(li, el('h3', 'pdf-sub', t('ts_heading')));
      add(li, tl);
    }
    return li;
  }

  function pdfBlock(v) {
    if (v.format !== 'pdf') {
      return null;
    }
    var info = isObj(v.pdf) ? v.pdf : {};
    var list = objList(v.signers);
    var s = section('pdf_heading', 'block-pdf');
    add(s, el('p', 'block-lede', typeof info.revisions === 'number' ?
      t('pdf_lede_rev', {n: list.length, r: info.revisions}) : t('pdf_lede', {n: list.length})));
    if (!list.length) {
      add(s, el('p', 'note', t('pdf_no_fields')));
      return s;
    }
    var ol = el('ol', 'pdf-fields');
    ol.id = 'pdf-fields';
    list.forEach(function (x) {
      add(ol, pdfField(x, info.revisions));
    });
    return add(s, ol);
  }

  function isoMs(iso) {
    var d = typeof iso === 'string' && iso !== '' ? new Date(iso) : null;
    return d && !isNaN(d.getTime()) ? d.getTime() : null;
  }

  /* signed -> timestamped -> expired / revoked -> archive timestamps ->
   * checked, in the order the times say.  `x` is one signer (or the
   * verdict itself for one signer), `later` the PDF document timestamps
   * after its revision. */
  function timeline(x, v, later) {
    var ev = [];
    function push(iso, key, cls, who, ok, why, whoKey) {
      var ms = isoMs(iso);
      if (ms !== null) {
        ev.push({ms: ms, i: ev.length, iso: iso, key: key, cls: cls, who: who, ok: ok, why: why, whoKey: whoKey});
      }
    }
    var tsaRevoked = {};
    push(x.signing_time, 'tl_signed', 'tl-claim');
    // The service lists a PDF signature's covering document timestamps in
    // its own timestamps[] (each with its `field`): one event per token.
    var seen = {};
    objList(x.timestamps).concat(later).filter(function (ts) {
      var k = ts.field ? 'f:' + String(ts.field) : null;
      if (k === null) {
        return true;
      }
      var dup = Object.prototype.hasOwnProperty.call(seen, k);
      seen[k] = true;
      return !dup;
    }).forEach(function (ts) {
      // One that does not verify proves nothing: it says so, in its place,
      // and why (its TSA's certificate revoked: marked as such).
      var ok = stateOf(ts.indication) === 'TOTAL_PASSED';
      var key = !ok ? (tsRevoked(ts) ? 'tl_ts_revoked' : 'tl_ts_bad') : ts.type === 'archive' ? 'tl_archive' :
        ts.type === 'document' ? 'tl_document' : 'tl_timestamped';
      push(ts.time, key, ok ? 'tl-proof' : 'tl-bad', ts.tsa ? dnName(ts.tsa) : '', ok, ok ? '' : t(tsWhyKey(ts)));
      // When a TSA's certificate was revoked, next to the tokens it made
      // (once per certificate: several tokens may share a TSA).
      objList(ts.revocation).forEach(function (r) {
        var k = String(r.subject || '') + '|' + String(r.serial || '');
        if (r.status === 'revoked' && !Object.prototype.hasOwnProperty.call(tsaRevoked, k)) {
          tsaRevoked[k] = true;
          push(r.revocation_time, 'tl_tsa_revoked', r.after_poe === true ? 'tl-note' : 'tl-end', dnName(r.subject),
            undefined, r.after_poe === true ? t('tl_tsa_revoked_after') : '', 'tl_cert');
        }
      });
    });
    var sg = isObj(x.signer) ? x.signer : null;
    var vt = isoMs(v.validation_time);
    if (sg && isoMs(sg.not_after) !== null && vt !== null && isoMs(sg.not_after) <= vt) {
      push(sg.not_after, 'tl_expired', 'tl-end');
    }
    objList(x.revocation).forEach(function (r) {
      if (r.depth === 0 && r.status === 'revoked') {
        push(r.revocation_time, 'tl_revoked', 'tl-end');
      }
    });
    push(v.validation_time, 'tl_checked', 'tl-checked');
    ev.sort(function (a, b) {
      return a.ms - b.ms || a.i - b.i;
    });
    var ol = el('ol', 'timeline');
    ev.forEach(function (e) {
      var li = el('li', 'tl-item ' + e.cls);
      li.setAttribute('data-event', e.key.replace('tl_', ''));
      add(li, timeNode(e.iso));
      add(li, el('span', 'tl-what', t(e.key)));
      if (e.who) {
        add(li, el('span', 'tl-who', t(e.whoKey || 'tl_by', {tsa: e.who})));
      }
      if (e.ok === false) {
        add(li, el('span', 'badge badge-bad', t('ts_bad')));
      }
      if (e.why) {
        add(li, el('span', 'tl-why', e.why));
      }
      add(ol, li);
    });
    return ol;
  }

  function vmRows(vm) {
    if (!isObj(vm)) {
      return [];
    }
    var k = 'vm_basis_' + String(vm.basis || '');
    return [
      [t('vm_time'), timeNode(vm.time)],
      [t('vm_basis'), has(k) ? t(k) : String(vm.basis || '')]
    ];
  }

  function ltvBlock(v) {
    var subjects = objList(v.signers);
    if (!subjects.length) {
      subjects = [v];
    }
    var docTs = v.format === 'pdf' ? subjects.filter(function (x) {
      return x.type === 'document_timestamp';
    }) : [];
    var shown = subjects.filter(function (x) {
      return x.type !== 'document_timestamp' && (isObj(x.poe) || typeof x.best_signature_time === 'string');
    });
    if (!shown.length) {
      return null;
    }
    var s = section('ltv_heading', 'block-ltv');
    s.id = 'ltv';
    add(s, el('p', 'block-lede', t('ltv_lede')));
    shown.forEach(function (x) {
      var box = el('div', 'ltv-item');
      if (subjects.length > 1) {
        add(box, el('h3', 'pdf-sub', x.field ? t('ltv_field', {field: x.field}) :
          t('signer_n', {n: subjects.indexOf(x) + 1})));
      }
      var poe = isObj(x.poe) ? x.poe : {};
      var when = poe.time || x.best_signature_time;
      var p = el('p', 'ltv-proven', t('ltv_proven', {time: timeText(when)}));
      add(box, p);
      var src = 'poe_source_' + String(poe.source || '');
      add(box, dl([
        [t('ltv_when'), timeNode(when)],
        [t('ltv_by'), poe.tsa ? dnName(poe.tsa) : ''],
        [t('ltv_how'), has(src) ? t(src) : String(poe.source || '')]
      ].concat(vmRows(x.validation_model)), 'facts facts-compact'));
      var later = [];
      docTs.forEach(function (d) {
        if (typeof d.revision === 'number' && typeof x.revision === 'number' && d.revision > x.revision) {
          later = later.concat(objList(d.timestamps));
        }
      });
      add(box, el('h3', 'pdf-sub', t('tl_heading')));
      add(box, timeline(x, v, later));
      add(s, box);
    });
    return s;
  }

  function techBlock(v, r) {
    var d = el('details', 'block block-tech');
    add(d, el('summary', 'block-title', t('tech_heading')));
    var sg = v.signer && typeof v.signer === 'object' ? v.signer : {};
    var key = sg.key && typeof sg.key === 'object' ? [sg.key.type, sg.key.bits].filter(Boolean).join(' ') : '';
    add(d, dl([
      [t('tech_indication'), v.indication, 'tech'],
      [t('tech_subindication'), v.subindication, 'tech'],
      [t('tech_detail'), v.detail, 'tech'],
      [t('tech_format'), v.format, 'tech'],
      [t('cert_key'), key, 'tech'],
      [t('tech_fingerprint'), sg.sha256, 'tech'],
      [t('request_id'), r.requestId, 'tech']
    ]));
    return d;
  }

  function renderVerdict(box, r) {
    var v = r.verdict;
    var st = stateOf(v.indication);
    box.setAttribute('data-state', CLS[st]);
    add(box, printHead(r));
    add(box, banner(st, t('state_' + st), t('state_lede_' + st)));
    add(box, requestIdBox(r.requestId));
    add(box, reasonBlock(v));
    add(box, warningsBlock(v));
    add(box, signerBlock(v));
    add(box, pdfBlock(v));
    add(box, ltvBlock(v));
    add(box, timesBlock(v));
    add(box, timestampsBlock(v));
    add(box, refsBlock(v));
    add(box, chainBlock(v));
    add(box, revocationBlock(v));
    add(box, v.format === 'pdf' ? null : signersBlock(v));
    add(box, techBlock(v, r));
    add(box, el('p', 'print-only print-note', t('print_note')));
  }

  function renderProblem(box, r) {
    box.setAttribute('data-state', 'problem');
    add(box, printHead(r));
    var b = el('div', 'banner banner-problem');
    b.setAttribute('data-state', 'problem');
    add(b, icon('i-indeterminate', 'banner-icon'));
    var txt = el('div', 'banner-text');
    var h = el('h2', 'banner-word banner-word-small', t('problem_heading'));
    h.id = 'result-title';
    h.tabIndex = -1;
    var lede = el('p', 'banner-lede', t(r.key, r.vars));
    lede.id = 'problem-text';
    add(txt, h, lede);
    add(box, add(b, txt));
    var s = section('todo_heading', 'block-reason');
    var adv = el('p', 'advice', t(r.todo));
    adv.id = 'advice';
    add(s, adv);
    if (r.code || r.detail) {
      add(s, dl([
        [t('problem_code'), r.code, 'tech'],
        [t('tech_detail'), r.detail, 'tech']
      ]));
    }
    add(box, s);
    if (r.requestId) {
      add(box, requestIdBox(r.requestId));
    }
  }

  function renderResult(focus) {
    var box = $('result');
    clear(box);
    var r = state.result;
    $('result-actions').hidden = !r;
    $('download').hidden = !(r && r.jws);
    $('download-note').hidden = !(r && r.jws);
    // The answer takes the form's place; "check another file" brings it back.
    $('form').hidden = !!r || !!state.busy;
    if (!r) {
      box.hidden = true;
      box.removeAttribute('data-state');
      return;
    }
    if (r.kind === 'verdict') {
      renderVerdict(box, r);
    } else {
      renderProblem(box, r);
    }
    box.hidden = false;
    if (focus) {
      var h = $('result-title');
      if (h) {
        h.focus();
      }
    }
  }

  /* ---- the signed result ---- */

  /* Does the service sign verdicts?  /readyz lists a "verdict_signing"
   * check exactly when verdict_signing is configured (README).  Unknown,
   * unreachable or anything else: no, and the page asks for plain JSON. */
  function askSigning() {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', 'readyz');
    xhr.timeout = 10000;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.addEventListener('load', function () {
      var b = null;
      try {
        b = JSON.parse(xhr.responseText);
      } catch (e) {
        b = null;
      }
      var c = isObj(b) && isObj(b.checks) ? b.checks.verdict_signing : null;
      state.canSign = isObj(c) && c.ok === true;
    });
    xhr.send();
  }

  /* Saves the JWS as it came: the file is the evidence, byte for byte. */
  function download() {
    var r = state.result;
    if (!r || !r.jws) {
      return;
    }
    var id = String(r.requestId || '').replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
    var url = URL.createObjectURL(new Blob([r.jws], {type: 'application/jose'}));
    var a = el('a');
    a.href = url;
    a.download = 'kensho-result' + (id ? '-' + id : '') + '.jws';
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    window.setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
  }

  /* ---- start ---- */

  function resetAll() {
    if (state.xhr) {
      state.xhr.abort();
      state.xhr = null;
    }
    state.sig = null;
    state.contents = [];
    state.result = null;
    setBusy(null);
    setFormError(null);
    renderChosen();
    renderResult(false);
  }

  function init() {
    state.lang = initialLang();
    wireDrop('sig-drop', 'sig-input', true);
    wireDrop('content-drop', 'content-input', false);
    // A file dropped beside the zones must not make the browser open it.
    window.addEventListener('dragover', function (e) {
      e.preventDefault();
    });
    window.addEventListener('drop', function (e) {
      e.preventDefault();
    });
    $('form').addEventListener('submit', submit);
    $('reset').addEventListener('click', function () {
      resetAll();
      $('sig-input').focus();
    });
    $('again').addEventListener('click', function () {
      resetAll();
      $('sig-input').focus();
    });
    $('print').addEventListener('click', function () {
      window.print();
    });
    $('download').addEventListener('click', download);
    askSigning();
    window.addEventListener('beforeprint', function () {
      var pd = $('print-date');
      if (pd) {
        pd.textContent = timeText(new Date().toISOString());
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll('.lang-btn'), function (b) {
      b.addEventListener('click', function () {
        setLang(b.getAttribute('data-lang'));
      });
    });
    applyLang();
    document.documentElement.classList.add('js');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
