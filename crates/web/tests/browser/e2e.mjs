// Browser end-to-end test of the console in headless Chromium.
//
// Run by scripts/browser-tests.sh, which starts `palisade serve` on a
// scanned temporary home and the test OpenID provider, then sets:
//   PALISADE_URL  the console (http://127.0.0.1:PORT)
//   SETUP_URL     the one-time first-administrator link printed by serve
//   ARTEFACTS     where screenshots go
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
// Steps: first-run setup, dashboard, suppress a finding (reason + expiry),
// see it in the audit log, sign out and in with the passphrase, sign in
// through SSO; axe-core on every main page (no serious or critical
// violation allowed). Exit status 1 on any failure.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const base = process.env.PALISADE_URL;
const setupUrl = process.env.SETUP_URL;
const artefacts = process.env.ARTEFACTS || 'browser-artefacts';
const passphrase = 'correct horse battery staple lantern';
mkdirSync(artefacts, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
// The console's CSP forbids all script; axe is injected by the test only.
const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const violations = [];
let failed = false;

function check(condition, what) {
  if (!condition) throw new Error(`expected ${what}`);
}

async function shot(name) {
  await page.screenshot({ path: `${artefacts}/${name}.png`, fullPage: true });
}

async function accessibility(name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    globalThis.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) {
    const where = v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ');
    violations.push(`${name}: ${v.id} (${v.impact}) ${v.help} at ${where}`);
  }
  console.log(`axe ${name}: ${result.violations.length} violations, ${bad.length} serious or critical`);
}

async function step(name, body) {
  const started = Date.now();
  try {
    await body();
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed = true;
    console.log(`FAIL ${name}: ${error.message}`);
    await shot(`failed-${name.replace(/\W+/g, '-')}`).catch(() => {});
    throw error;
  }
}

async function signIn(username) {
  await page.fill('#username', username);
  await page.fill('#password', passphrase);
  await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/login"] button[type=submit]')]);
}

async function signOut() {
  await Promise.all([page.waitForURL(`${base}/login`), page.click('form[action="/logout"] button')]);
}

try {
  await step('first-run setup through the printed link', async () => {
    await page.goto(setupUrl);
    await accessibility('enrol');
    await shot('01-setup');
    await page.fill('#username', 'admin');
    await page.fill('#password', passphrase);
    await page.fill('#confirm', passphrase);
    await Promise.all([page.waitForURL(`${base}/`), page.click('form[action="/enrol"] button[type=submit]')]);
  });
  await step('dashboard', async () => {
    check(await page.isVisible('h1'), 'a heading on the dashboard');
    await accessibility('dashboard');
    await shot('02-dashboard');
  });
  await step('suppress a finding with reason and expiry', async () => {
    await page.goto(`${base}/findings`);
    await accessibility('findings');
    await shot('03-findings');
    await Promise.all([page.waitForURL(/\/findings\/\d+$/), page.click('td a[href^="/findings/"]')]);
    await accessibility('finding');
    await page.fill('#reason', 'Test bucket, accepted until the migration');
    check((await page.inputValue('#expires')).length === 10, 'a default expiry date');
    await Promise.all([page.waitForNavigation(), page.click('form[action$="/suppress"] button[type=submit]')]);
    check(await page.isVisible('form[action$="/unsuppress"]'), 'the finding to be suppressed');
    await shot('04-suppressed');
  });
  await step('the suppression is in the audit log', async () => {
    await page.goto(`${base}/audit`);
    const text = await page.textContent('main');
    check(text.includes('finding.suppress'), 'finding.suppress in the audit log');
    check(text.includes('Test bucket, accepted until the migration'), 'the reason in the audit log');
    await accessibility('audit');
    await shot('05-audit');
  });
  await step('sign out and sign in with the passphrase', async () => {
    await signOut();
    await accessibility('login');
    await shot('06-login');
    await signIn('admin');
  });
  await step('sign in through SSO (oidc-provider)', async () => {
    await signOut();
    await page.click('text=Sign in with SSO');
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'any');
    await page.click('button[type=submit]');
    // Consent, then back to the console.
    await Promise.all([page.waitForURL(`${base}/`), page.click('button:has-text("Continue")')]);
    const header = await page.textContent('body');
    check(header.includes('alice'), 'the SSO user signed in');
    await shot('07-sso-dashboard');
  });
  await step('sign out of SSO also at the provider (RP-initiated logout)', async () => {
    // The console's CSP must let the sign-out form's redirect reach the provider.
    await Promise.all([page.waitForURL(/\/session\/end/), page.click('form[action="/logout"] button')]);
    await shot('08-provider-sign-out');
    await Promise.all([page.waitForURL(`${base}/login`), page.click('button:has-text("Yes, sign me out")')]);
    // The provider session is gone: SSO asks for the password again.
    await page.click('text=Sign in with SSO');
    await page.waitForSelector('input[name=login]');
  });
} catch {
  failed = true;
} finally {
  await browser.close();
}

if (violations.length > 0) {
  console.log('accessibility problems (serious or critical):');
  for (const v of violations) console.log(`  ${v}`);
  failed = true;
}
console.log(`screenshots in ${artefacts}`);
process.exit(failed ? 1 : 0);
