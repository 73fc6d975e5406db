// The whole shop in a real browser (Debian's Chromium, driven by playwright-core): a new customer
// signs up, searches, fills the cart, checks out, pays on the sandbox's card page; the admin ships
// and delivers; the customer reviews (with a <script> that must stay text), reads notifications
// and mails, has a card declined on a second order, and a forged form post is refused.
// docs/storefront.md is the contract of the pages; scripts/browser-test.sh (make browser, part of
// make test) starts a private shop and runs this with:
//   SHOP_URL        the gateway, e.g. http://127.0.0.1:18300
//   ADMIN_EMAIL, ADMIN_PASSWORD   the shop's first admin
//   MAIL_DIR        the SMTP sink's folder (one .eml per mail)
//   SCREENSHOT_DIR  where each step's screenshot goes (default target/browser/screenshots)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   BROWSER_TEST_BOUND_S  the whole run's bound (default 300)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

import { Steps, api, clickAndWait, log, orderStatus, poll, readMails, setField, waitForStatus } from './harness.mjs';

const need = (name) => process.env[name] || assert.fail(`${name} is not set (scripts/browser-test.sh sets it)`);
const SHOP = need('SHOP_URL').replace(/\/$/, '');
const ADMIN = { email: need('ADMIN_EMAIL'), password: need('ADMIN_PASSWORD') };
const MAIL_DIR = need('MAIL_DIR');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || 'target/browser/screenshots';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BOUND_MS = Number(process.env.BROWSER_TEST_BOUND_S || 300) * 1000;

// Unique per run: letters only, so that search (words, stems, trigrams) sees one distinctive word.
const tag = () => Array.from(randomBytes(8), (byte) => String.fromCharCode(97 + (byte % 26))).join('');
const run = tag();
const customer = { email: `browser-${run}@example.com`, name: 'Brow Sertest', password: `pw-${run}-correct-horse` };
const XSS = '<script>window.__xss=1</script>';

// Chromium as this machine runs it (the flags keep it off the network it cannot reach);
// playwright gives every launch a fresh, temporary --user-data-dir and adds --headless.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const steps = new Steps({ dir: SCREENSHOT_DIR, boundMs: BOUND_MS, onExit: () => browser.close() });
log(`Chromium ${browser.version()} against ${SHOP}; customer ${customer.email}`);

const newPage = async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(20_000);
  return page;
};
const page = await newPage();
const url = (path) => `${SHOP}${path}`;
const button = (scope, name) => scope.getByRole('button', { name, exact: true });

// --- Seeding through the JSON API: the admin adds two products only this run knows.
const { access_token: adminToken } = await api(SHOP, 'POST', '/api/users/login', { body: ADMIN });
const products = [];
for (const [kind, price] of [['Lamp', 19.5], ['Kettle', 42.0]]) {
  const name = `${kind} ${tag()}`;
  const product = await api(SHOP, 'POST', '/api/products', {
    token: adminToken,
    body: { name, description: `A ${kind.toLowerCase()} of the browser test`, price, stock: 50 },
  });
  products.push({ id: product.id, name });
}
log(`seeded ${products.map((p) => `${p.name} (#${p.id})`).join(' and ')}`);

/** Searches the catalogue for a product by name, opens it and adds `quantity` to the cart. */
async function findAndAdd(product, quantity) {
  await steps.step(`search-${product.name.split(' ')[0].toLowerCase()}`, page, async () => {
    await page.goto(url('/'));
    const search = page.locator('form[role=search] input[name="q"]');
    await search.fill(product.name);
    await Promise.all([page.waitForNavigation(), search.press('Enter')]);
    assert.equal(new URL(page.url()).searchParams.get('q'), product.name);
    await clickAndWait(page, page.getByTestId('product-card').filter({ hasText: product.name }).first());
    assert.equal(new URL(page.url()).pathname, `/products/${product.id}`);
    assert.equal((await page.locator('h1').first().innerText()).trim(), product.name);
    await page.getByTestId('price').first().waitFor();
    await page.getByTestId('stock').first().waitFor();
  });
  await steps.step(`add-${product.name.split(' ')[0].toLowerCase()}`, page, async () => {
    const form = page.locator('form').filter({ has: button(page, 'Add to cart') });
    if (quantity !== 1 || (await form.locator('[name="quantity"]').count())) {
      await setField(form, 'quantity', String(quantity));
    }
    await clickAndWait(page, button(form, 'Add to cart'));
    await assertNoError(page);
  });
}

/** Fails unless the page is the shop's `path` (the sandbox links back through SHOP_URL). */
function assertAt(page, path) {
  const here = new URL(page.url());
  assert.equal(`${here.origin}${here.pathname}`, url(path), `expected to be back at ${url(path)}`);
}

/** Fails with the page's `[data-testid=error]` when a form was refused. */
async function assertNoError(page) {
  const errors = await page.getByTestId('error').allInnerTexts();
  assert.deepEqual(errors, [], `the form was refused: ${errors.join('; ')}`);
}

/** From the order page: "Pay now", then the card typed into the sandbox's card page. */
async function typeCard(card) {
  await clickAndWait(page, button(page, 'Pay now'));
  assert.notEqual(new URL(page.url()).origin, SHOP, `"Pay now" led to ${page.url()}, not the card page`);
  const number = page.locator('input[name="card_number"]');
  await number.click();
  await number.pressSequentially(card);
}

/** The card page's "Pay ..." button, and the result page's heading. */
async function submitCard(outcome) {
  await clickAndWait(page, page.getByRole('button', { name: /^Pay\b/ }));
  await page.getByRole('heading', { name: outcome }).waitFor();
}

// --- The catalogue, anonymous: its security headers.
await steps.step('catalogue', page, async () => {
  const response = await page.goto(url('/'));
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, 'Content-Security-Policy');
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.ok(headers['referrer-policy'], 'no Referrer-Policy header');
  assert.ok(await page.getByTestId('product-card').count() >= 1, 'no product cards on the catalogue');
});

// --- a. Sign up: signed in, with an HttpOnly, SameSite=Lax session cookie.
await steps.step('register', page, async () => {
  await page.goto(url('/register'));
  const form = page.locator('form').filter({ has: button(page, 'Create account') });
  await form.locator('[name="email"]').fill(customer.email);
  await form.locator('[name="name"]').fill(customer.name);
  await form.locator('[name="password"]').fill(customer.password);
  await clickAndWait(page, button(form, 'Create account'));
  await assertNoError(page);
  assert.equal(new URL(page.url()).pathname, '/');
  await button(page, 'Sign out').waitFor();
  const cookie = (await page.context().cookies(SHOP)).find((c) => c.name === 'microshop_session');
  assert.ok(cookie, 'no microshop_session cookie');
  assert.equal(cookie.httpOnly, true, 'the session cookie is not HttpOnly');
  assert.equal(cookie.sameSite, 'Lax', 'the session cookie is not SameSite=Lax');
});

// --- b. Search, open, add: the first product once, the second twice.
await findAndAdd(products[0], 1);
await findAndAdd(products[1], 2);

// --- c. The cart, checkout with a new address, the order confirmed.
let orderId;
await steps.step('cart', page, async () => {
  await page.goto(url('/cart'));
  const lines = page.getByTestId('cart-line');
  assert.equal(await lines.count(), 2, 'the cart does not show two lines');
  const second = lines.filter({ hasText: products[1].name });
  const quantity = second.locator('[name="quantity"]');
  const shown = (await quantity.count()) ? await quantity.first().inputValue() : await second.innerText();
  assert.match(shown, /\b2\b/, `the second product's line does not show quantity 2: ${shown}`);
  // 19.50 + 2 × 42.00, whatever the currency's sign.
  assert.match(await page.getByTestId('cart-total').first().innerText(), /\b103\.50\b/, 'the cart total');
});
await steps.step('checkout', page, async () => {
  await clickAndWait(page, page.getByRole('link', { name: 'Checkout', exact: true }));
  const form = page.locator('form').filter({ has: button(page, 'Place order') });
  const address = { name: customer.name, line1: 'Invalidenstraße 116', line2: 'Hinterhaus', city: 'Berlin',
    postal_code: '10115', country: 'DE', phone: '+49301234567' };
  for (const [field, value] of Object.entries(address)) await setField(form, field, value);
  await clickAndWait(page, button(form, 'Place order'));
  await assertNoError(page);
  const match = new URL(page.url()).pathname.match(/^\/orders\/(\d+)$/);
  assert.ok(match, `checkout led to ${page.url()}, not an order page`);
  orderId = Number(match[1]);
  log(`order ${orderId} placed`);
});
await steps.step('order-confirmed', page, () => waitForStatus(page, 'CONFIRMED'));

// --- d. Pay on the sandbox's card page; back at the shop the order is PAID.
await steps.step('card-page', page, () => typeCard('4242 4242 4242 4242'));
await steps.step('card-paid', page, () => submitCard('Payment succeeded'));
await steps.step('order-paid', page, async () => {
  await clickAndWait(page, page.getByRole('link', { name: 'Back to the shop' }));
  assertAt(page, `/orders/${orderId}`);
  await waitForStatus(page, 'PAID');
});

// --- e. The admin, in a browser of their own, ships and delivers.
const admin = await newPage();
await steps.step('admin-login', admin, async () => {
  await admin.goto(url(`/admin/orders/${orderId}`));
  assert.equal(new URL(admin.url()).pathname, '/login', 'an anonymous admin page did not ask to sign in');
  const form = admin.locator('form').filter({ has: button(admin, 'Sign in') });
  await form.locator('[name="email"]').fill(ADMIN.email);
  await form.locator('[name="password"]').fill(ADMIN.password);
  await clickAndWait(admin, button(form, 'Sign in'));
  await assertNoError(admin);
  assert.equal(new URL(admin.url()).pathname, `/admin/orders/${orderId}`, 'sign-in did not lead back (next)');
  await waitForStatus(admin, 'PAID');
});
await steps.step('admin-shipped', admin, async () => {
  const form = admin.locator('form').filter({ has: button(admin, 'Mark shipped') });
  await form.locator('[name="tracking_number"]').fill('1Z999AA10123456784');
  await clickAndWait(admin, button(form, 'Mark shipped'));
  await assertNoError(admin);
  await waitForStatus(admin, 'SHIPPED');
});
await steps.step('admin-delivered', admin, async () => {
  await clickAndWait(admin, button(admin, 'Mark delivered'));
  await assertNoError(admin);
  await waitForStatus(admin, 'DELIVERED');
});

// --- f. The customer sees DELIVERED and every step in the timeline.
await steps.step('order-delivered', page, async () => {
  await page.reload();
  await waitForStatus(page, 'DELIVERED');
  assert.equal((await page.getByTestId('tracking-number').innerText()).trim(), '1Z999AA10123456784');
  const timeline = (await page.getByTestId('timeline-entry').allInnerTexts()).join('\n').toUpperCase();
  for (const status of ['PENDING', 'CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED']) {
    assert.match(timeline, new RegExp(`\\b${status}\\b`), `the timeline does not list ${status}: ${timeline}`);
  }
});

// --- g. A review with a <script>: shown as text, never run.
await steps.step('review', page, async () => {
  const product = products[0];
  await page.goto(url(`/products/${product.id}`));
  const form = page.locator('form').filter({ has: button(page, 'Post review') });
  await setField(form, 'rating', '4');
  await form.locator('[name="text"]').fill(`Bright enough. ${XSS}`);
  await clickAndWait(page, button(form, 'Post review'));
  await assertNoError(page);
  if (new URL(page.url()).pathname !== `/products/${product.id}`) await page.goto(url(`/products/${product.id}`));
  const review = page.getByTestId('review').filter({ hasText: 'Bright enough.' });
  await review.first().waitFor();
  assert.ok((await review.first().innerText()).includes(XSS), 'the review does not show the <script> as text');
  assert.equal(await review.first().locator('script').count(), 0, 'the review holds a script element');
  assert.equal(await page.evaluate(() => typeof window.__xss), 'undefined', 'the review ran its script');
  // The buyer's product was delivered: the review is a verified purchase, once the product
  // service has heard of the delivery (an event), hence the polling.
  await poll('the review marked a verified purchase (data-testid="verified-purchase")',
    async () => (await review.first().getByTestId('verified-purchase').count()) > 0,
    { between: () => page.reload() });
});

// --- h. Notifications on the page, and the mails in the SMTP sink.
await steps.step('notifications', page, async () => {
  await page.goto(url('/notifications'));
  const mentions = async () => {
    const texts = await page.getByTestId('notification').allInnerTexts();
    return texts.length > 0 && texts.some((text) => new RegExp(`\\b${orderId}\\b`).test(text));
  };
  await poll('a notification about the order', mentions, {
    between: () => page.reload(),
    describe: async () => JSON.stringify(await page.getByTestId('notification').allInnerTexts()),
  });
  const expected = [/confirmed/i, /payment received/i, /shipped/i, /delivered/i];
  const about = () => readMails(MAIL_DIR).filter((mail) =>
    mail.to.toLowerCase().includes(customer.email) && new RegExp(`\\b${orderId}\\b`).test(mail.subject));
  await poll(`mails to ${customer.email} about order ${orderId} in ${MAIL_DIR}`,
    () => expected.every((subject) => about().some((mail) => subject.test(mail.subject))), {
      describe: () => JSON.stringify(about().map((mail) => mail.subject)),
    });
  log(`mails: ${about().map((mail) => `"${mail.subject}"`).join(', ')}`);
});

// --- i. A second order with the saved address; the card is declined; the order stays CONFIRMED.
let secondId;
await findAndAdd(products[1], 1);
await steps.step('second-checkout', page, async () => {
  await page.goto(url('/cart'));
  assert.equal(await page.getByTestId('cart-line').count(), 1, 'the cart does not show one line');
  await clickAndWait(page, page.getByRole('link', { name: 'Checkout', exact: true }));
  const form = page.locator('form').filter({ has: button(page, 'Place order') });
  const saved = form.locator('input[type=radio][name="address_id"]:not([value=""])');
  assert.ok(await saved.count() >= 1, 'checkout does not offer the saved address');
  await saved.first().check();
  await clickAndWait(page, button(form, 'Place order'));
  await assertNoError(page);
  const match = new URL(page.url()).pathname.match(/^\/orders\/(\d+)$/);
  assert.ok(match, `checkout led to ${page.url()}, not an order page`);
  secondId = Number(match[1]);
  assert.notEqual(secondId, orderId);
  log(`order ${secondId} placed`);
  await waitForStatus(page, 'CONFIRMED');
});
await steps.step('card-declined', page, async () => {
  await typeCard('4000 0000 0000 0002');
  await submitCard('Payment declined');
});
await steps.step('order-unpaid', page, async () => {
  await clickAndWait(page, page.getByRole('link', { name: 'Back to the shop' }));
  assertAt(page, `/orders/${secondId}`);
  // The sandbox's webhook reaches the payment service a moment after its result page.
  const payment = page.getByTestId('payment-status');
  await poll('the payment shown as failed (data-testid="payment-status")',
    async () => (await payment.count()) > 0 && /fail|declin/i.test(await payment.first().innerText()), {
      between: () => page.reload(),
      describe: async () => ((await payment.count()) ? payment.first().innerText() : '(no payment-status on the page)'),
    });
  assert.equal(await orderStatus(page), 'CONFIRMED', 'the order with a declined payment is not CONFIRMED');
  await button(page, 'Pay now').waitFor();
});

// --- j. A form post with a forged or no csrf field is refused and changes nothing; the same post
// with the page's own csrf field is accepted (so the refusals were the csrf field's doing).
await steps.step('csrf', page, async () => {
  await page.goto(url(`/products/${products[0].id}`));
  const csrf = await page.locator('form[action="/cart/items"] input[name="csrf"]').inputValue();
  await page.goto(url('/cart'));
  const before = await page.getByTestId('cart-line').count();
  const post = (extra) => page.request.post(url('/cart/items'), {
    form: { product_id: String(products[0].id), quantity: '1', ...extra },
    maxRedirects: 0,
    headers: { origin: SHOP },
  });
  for (const [what, extra] of [['a forged csrf field', { csrf: 'forged' }], ['no csrf field', {}]]) {
    const refused = await post(extra);
    assert.equal(refused.status(), 403, `a post with ${what} was not refused`);
    assert.match(refused.headers()['content-type'] ?? '', /text\/html/, `the refusal of ${what} is not a page`);
  }
  await page.reload();
  assert.equal(await page.getByTestId('cart-line').count(), before, 'the refused posts changed the cart');
  const accepted = await post({ csrf });
  assert.ok(accepted.status() >= 200 && accepted.status() < 400, `the genuine post got ${accepted.status()}`);
  await page.reload();
  assert.equal(await page.getByTestId('cart-line').count(), before + 1, 'the genuine post did not add the line');
});

steps.done();
await browser.close();
log(`the browser test passed: orders ${orderId} and ${secondId}; screenshots in ${SCREENSHOT_DIR}`);
