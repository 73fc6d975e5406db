// The browser test's tools: numbered steps with a screenshot each (and the page's HTML when one
// fails), bounded polling for what the shop does asynchronously, form fields whatever their
// element, the gateway's JSON API for seeding, and the SMTP sink's .eml files.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Seconds since the test started, for the log. */
const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(1).padStart(6);

export function log(message) {
  console.log(`[${elapsed()} s] ${message}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the scenario's steps in order. Each step is numbered (01-catalogue, 02-register, ...);
 * after it passes, its page's screenshot is saved under that name. A failing step saves
 * `NN-name-FAILED.png` and `.html`, prints what the page showed and ends the process with 1.
 * The whole run is bounded: when `boundMs` passes, the current step fails the same way.
 */
export class Steps {
  constructor({ dir, boundMs, onExit }) {
    this.dir = dir;
    this.count = 0;
    this.current = null;
    this.onExit = onExit;
    mkdirSync(dir, { recursive: true });
    this.timer = setTimeout(() => {
      const { label = 'before-the-first-step', page } = this.current ?? {};
      this.fail(label, page, new Error(`the browser test ran over its bound of ${boundMs / 1000} s`));
    }, boundMs);
  }

  async step(name, page, body) {
    if (this.failing) await this.failing; // the run is ending: no further step starts
    this.count += 1;
    const label = `${String(this.count).padStart(2, '0')}-${name}`;
    this.current = { label, page };
    const at = Date.now();
    log(`${label} ...`);
    try {
      await body();
      await page.screenshot({ path: join(this.dir, `${label}.png`), fullPage: true });
    } catch (error) {
      await this.fail(label, page, error);
    }
    log(`${label} ok (${((Date.now() - at) / 1000).toFixed(1)} s)`);
  }

  /** Ends the run (once: a step failing while the bound ends it waits for that to finish). */
  fail(label, page, error) {
    this.failing ??= this.report(label, page, error);
    return this.failing;
  }

  async report(label, page, error) {
    clearTimeout(this.timer);
    console.error(`\nFAILED at step ${label}: ${error?.stack ?? error}`);
    if (page && !page.isClosed()) {
      const within = (promise) => Promise.race([promise, sleep(5000)]).catch((e) => `(${e.message})`);
      const shot = join(this.dir, `${label}-FAILED.png`);
      const html = join(this.dir, `${label}-FAILED.html`);
      await within(page.screenshot({ path: shot, fullPage: true }));
      const content = await within(page.content());
      if (typeof content === 'string') writeFileSync(html, content);
      const heading = await within(page.locator('h1').first().innerText({ timeout: 1000 }));
      const alert = await within(page.locator('[role=alert]').allInnerTexts());
      console.error(`the page: ${page.url()}`);
      console.error(`its heading: ${heading ?? '(none)'}`);
      if (Array.isArray(alert) && alert.length) console.error(`its alerts: ${JSON.stringify(alert)}`);
      console.error(`saved ${shot} and ${html}`);
    }
    await Promise.race([this.onExit?.(), sleep(5000)]).catch(() => {});
    process.exit(1);
    return new Promise(() => {}); // never reached: what awaits this waits for the exit
  }

  done() {
    clearTimeout(this.timer);
  }
}

/**
 * Calls `probe` until it returns something truthy (returned), at most `timeoutMs`; in between
 * waits `intervalMs` and calls `between` (e.g. a page reload). `describe()` says, on timeout,
 * what was seen last.
 */
export async function poll(what, probe, { timeoutMs = 30_000, intervalMs = 500, between, describe } = {}) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if (result) return result;
    if (Date.now() > until) {
      const seen = describe ? `; last seen: ${await describe()}` : '';
      throw new Error(`${what}: not within ${timeoutMs / 1000} s${seen}`);
    }
    await sleep(intervalMs);
    if (between) await between();
  }
}

/**
 * Clicks `locator` and waits for the page it leads to (a link, or a form's POST + redirect);
 * fails when that page is an error (4xx/5xx), naming its heading.
 */
export async function clickAndWait(page, locator) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), locator.click()]);
  if (response && response.status() >= 400) {
    const heading = await page.locator('h1').first().innerText({ timeout: 1000 }).catch(() => '(no heading)');
    throw new Error(`the click led to ${response.status()} at ${page.url()}: ${heading}`);
  }
  return response;
}

/** The text of the page's `data-testid="order-status"`, upper-cased. */
export async function orderStatus(page) {
  return (await page.getByTestId('order-status').first().innerText()).trim().toUpperCase();
}

/** Reloads the order page until its status is `expected` (at most ~30 s). */
export async function waitForStatus(page, expected) {
  const matches = async () => new RegExp(`\\b${expected}\\b`).test(await orderStatus(page));
  await poll(`the order page showing ${expected}`, matches, {
    between: () => page.reload({ waitUntil: 'load' }),
    describe: () => orderStatus(page),
  });
}

/** Sets a form field the way a user would, whether it is an input, a select or radio buttons. */
export async function setField(scope, name, value) {
  const field = scope.locator(`[name="${name}"]`);
  const first = field.first();
  const tag = await first.evaluate((element) => element.tagName.toLowerCase());
  const type = (await first.getAttribute('type')) ?? '';
  if (tag === 'select') {
    await first.selectOption(value).catch(() => first.selectOption({ label: value }));
  } else if (type === 'radio' || type === 'checkbox') {
    await scope.locator(`[name="${name}"][value="${value}"]`).check();
  } else {
    await first.fill(value);
  }
}

/** A JSON request to the gateway; throws with the answer unless it is 2xx. */
export async function api(shop, method, path, { token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${shop}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** RFC 2047 encoded words (`=?utf-8?b?...?=`) in a header, decoded. */
function decodeWords(value) {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, encoding, text) => {
      if (encoding.toLowerCase() === 'b') return Buffer.from(text, 'base64').toString('utf8');
      const bytes = text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, '%$1');
      return decodeURIComponent(bytes.replace(/%(?![0-9A-Fa-f]{2})/g, '%25'));
    });
}

/** The mails in the SMTP sink's folder, oldest first: `{ file, to, subject }`. */
export function readMails(dir) {
  let files;
  try {
    files = readdirSync(dir).filter((name) => name.endsWith('.eml')).sort();
  } catch {
    return []; // no mail yet: the sink creates the folder with the first one
  }
  return files.map((file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    const head = text.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
    const headers = {};
    for (const line of head.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] ??= line.slice(colon + 1).trim();
    }
    return { file, to: decodeWords(headers.to ?? ''), subject: decodeWords(headers.subject ?? '') };
  });
}
