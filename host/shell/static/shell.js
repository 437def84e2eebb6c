// The shell's own script. It alone holds the token and sends actions;
// app pages are scriptless sandboxes (RATIONALE.md, host/shell), so it
// wires their taps and inputs from here. Text from apps is only ever set
// as textContent, never parsed as HTML.
'use strict';
const token = document.querySelector('meta[name="minihost-token"]').content;
const $ = id => document.getElementById(id);
const updateEvents = new Set(['decision', 'checkForUpdate', 'updateReady', 'updateFailed', 'applyUpdate', 'blocked', 'rollback', 'checkFailed']);

let state = { apps: [] };
let current = { app: '', page: 'index' };
let dialog = null; // { app, id } shown now
let frameSeq = 0;
let actions = Promise.resolve(); // view events are sent one after another, in order

function status(text) { $('status').textContent = text; }

async function api(path, body) {
  const opts = { headers: { 'X-Minihost-Token': token } };
  if (body !== undefined) {
    opts.method = 'POST';
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch('api/' + path, opts);
  if (!r.ok) throw new Error(path + ': ' + (await r.text()).trim());
  return r.json();
}

function act(path, body) {
  return api(path, body).then(() => status(''), e => status(e.message));
}

function readHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  current = { app: h.get('app') || current.app, page: h.get('page') || 'index' };
}

function select(app, page) {
  location.hash = new URLSearchParams({ app, page: page || 'index' }).toString();
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function button(text, id, onclick) {
  const b = el('button', text);
  if (id) b.id = id;
  b.onclick = onclick;
  return b;
}

function render() {
  const list = $('apps');
  list.replaceChildren();
  for (const a of state.apps) {
    const li = el('li');
    li.dataset.app = a.id;
    if (a.id === current.app) li.className = 'selected';
    const name = el('a', a.id, 'name');
    name.href = '#' + new URLSearchParams({ app: a.id, page: 'index' });
    li.append(name, el('span', a.running ? 'v' + a.version + (a.hidden ? ' (in background)' : '') : (a.opening ? 'opening…' : '')));
    li.append(button(a.running ? 'Restart' : 'Open', 'open-' + a.id, () => {
      select(a.id, 'index');
      act('open', { app: a.id });
    }));
    list.append(li);
  }
  const a = state.apps.find(x => x.id === current.app);
  $('app').hidden = !a;
  if (!a) return;
  $('app-title').textContent = a.id + (a.running ? ' v' + a.version : ' (not running)');
  $('restart-update').hidden = !(a.running && a.updateReady);
  $('close-app').hidden = !a.running;
  const pages = $('pages');
  pages.replaceChildren();
  for (const p of a.pages) {
    const link = el('a', p);
    link.href = '#' + new URLSearchParams({ app: a.id, page: p });
    pages.append(link);
  }
  $('decision').textContent = a.decision ? JSON.stringify(a.decision, null, 2) : '(opened without updates, or not yet)';
  const events = $('events');
  events.replaceChildren();
  for (const ev of a.events.slice().reverse()) {
    let text = ev.event + (ev.version ? ' v' + ev.version : '');
    if (ev.event === 'log') text = '[' + ev.stream + '] ' + ev.message;
    else if (ev.message) text += ': ' + ev.message;
    if (ev.hasUpdate !== undefined) text += ' hasUpdate=' + ev.hasUpdate;
    if (ev.page) text += ' page=' + ev.page;
    const cls = updateEvents.has(ev.event) ? 'update' : (ev.event === 'error' ? 'error' : '');
    events.append(el('li', text, cls));
  }
  const frame = $('page');
  const want = a.running ? 'page/' + encodeURIComponent(a.id) + '/' + encodeURIComponent(current.page) : 'about:blank';
  if (frame.dataset.base !== want) loadFrame(want);
  showDialog();
}

function loadFrame(base) {
  const frame = $('page');
  frame.dataset.base = base;
  frame.dataset.seq = String(++frameSeq);
  frame.src = base === 'about:blank' ? base : base + '?v=' + frameSeq;
}

// wire sends the page's taps (data-tap) and inputs (data-input) to the
// guest. The frame is same-origin but runs no script: these listeners are
// the shell's.
function wire() {
  const frame = $('page');
  const doc = frame.contentDocument;
  if (!doc || frame.dataset.base === 'about:blank') return;
  const page = { app: current.app, page: current.page };
  doc.addEventListener('click', e => {
    const t = e.target.closest ? e.target.closest('[data-tap]') : null;
    if (!t) return;
    e.preventDefault();
    send({ ...page, handler: t.dataset.tap });
  });
  doc.addEventListener('change', e => {
    const t = e.target.closest ? e.target.closest('[data-input]') : null;
    if (!t) return;
    send({ ...page, handler: t.dataset.input, value: String(t.value) });
  });
  // Tests wait for this: the frame shows its latest load, wired.
  document.body.dataset.frame = frame.dataset.seq;
}

function send(ev) {
  actions = actions.then(() => act('view', ev));
}

// setVisible gives a running app WeChat's onShow or onHide: the app the
// person leaves (selecting another, or hiding this tab) goes to the
// background, the one they come to comes back. Sent in order with the
// taps; the host ignores a request that would not change the app's state.
function setVisible(app, visible) {
  const a = state.apps.find(x => x.id === app);
  if (!a || !a.running) return;
  actions = actions.then(() => act(visible ? 'show' : 'hide', { app }));
}

function onHashChange() {
  const prev = current.app;
  readHash();
  if (current.app !== prev) {
    if (prev) setVisible(prev, false);
    if (document.visibilityState === 'visible') setVisible(current.app, true);
  }
  render();
}

function showDialog() {
  const d = $('dialog');
  let pending = null;
  for (const a of state.apps) {
    if (a.dialogs && a.dialogs.length) { pending = { app: a.id, m: a.dialogs[0] }; break; }
  }
  if (!pending) {
    if (d.open) d.close();
    dialog = null;
    return;
  }
  if (dialog && dialog.app === pending.app && dialog.id === pending.m.id && d.open) return;
  dialog = { app: pending.app, id: pending.m.id };
  const m = pending.m.modal;
  $('dialog-title').textContent = m.title || pending.app;
  $('dialog-content').textContent = m.content;
  $('dialog-confirm').textContent = m.confirmText || 'OK';
  $('dialog-cancel').textContent = m.cancelText || 'Cancel';
  $('dialog-cancel').hidden = !m.showCancel;
  if (!d.open) d.showModal();
}

function answer(confirm) {
  if (!dialog) return;
  const { app, id } = dialog;
  dialog = null;
  $('dialog').close();
  act('modal', { app, id, confirm });
}

// refresh reads the state once at a time; a change that arrives while a
// read is in flight asks for one more read after it, which sees it.
let refreshing = null, again = false;
function refresh() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = api('state').then(s => { state = s; render(); }, e => status(e.message)).finally(() => {
    refreshing = null;
    if (again) {
      again = false;
      refresh();
    }
  });
  return refreshing;
}

function onMessage(ev) {
  if (ev.event === 'view' && ev.app === current.app && ev.page === current.page) {
    loadFrame($('page').dataset.base);
  }
  refresh();
}

// listen reads the server-sent events with fetch (EventSource cannot send
// the token header), reconnecting after a pause.
async function listen() {
  for (;;) {
    try {
      const r = await fetch('api/events', { headers: { 'X-Minihost-Token': token } });
      if (!r.ok) throw new Error('events: ' + r.status);
      await refresh();
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const data = buf.slice(0, i).split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6)).join('\n');
          buf = buf.slice(i + 2);
          if (data) onMessage(JSON.parse(data));
        }
      }
    } catch (e) {
      status(e.message);
    }
    await new Promise(res => setTimeout(res, 1000));
  }
}

$('page').addEventListener('load', wire);
$('dialog-confirm').onclick = () => answer(true);
$('dialog-cancel').onclick = () => answer(false);
$('dialog').addEventListener('cancel', e => { e.preventDefault(); answer(false); });
$('restart-update').onclick = () => act('apply', { app: current.app });
$('close-app').onclick = () => act('close', { app: current.app });
window.addEventListener('hashchange', onHashChange);
document.addEventListener('visibilitychange', () => setVisible(current.app, document.visibilityState === 'visible'));
readHash();
listen();
