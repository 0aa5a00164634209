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
// through SSO; then, at http://localhost:PORT (browsers allow WebAuthn on
// localhost, not on 127.0.0.1) and under the console's real CSP: TOTP
// enrolment from the account page and sign-in with a generated code, and a
// security key registered and used with Chromium's virtual authenticator.
// axe-core on every main page (no serious or critical violation allowed).
// Exit status 1 on any failure.
import { createHmac } from 'node:crypto';
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
let page = await context.newPage();
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

async function signIn(username, at = base) {
  await page.fill('#username', username);
  await page.fill('#password', passphrase);
  await Promise.all([page.waitForURL(`${at}/`), page.click('form[action="/login"] button[type=submit]')]);
}

async function signOut(at = base) {
  await Promise.all([page.waitForURL(`${at}/login`), page.click('form[action="/logout"] button')]);
}

// RFC 6238 (HMAC-SHA1, 30 s steps, 6 digits), as an authenticator app does.
function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const ch of text.toUpperCase()) {
    const index = alphabet.indexOf(ch);
    if (index < 0) continue;
    value = ((value << 5) | index) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(bytes);
}

function totpStep() {
  return Math.floor(Date.now() / 30000);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 1000000).padStart(6, '0');
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

  // WebAuthn needs a secure context and an RP id that is a host name: the
  // console maps its loopback address to localhost (handlers/webauthn.rs).
  // This context keeps the real CSP, so /static/webauthn.js must run under it.
  const local = base.replace('127.0.0.1', 'localhost');
  const strict = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await strict.newPage();
  page.setDefaultTimeout(15000);
  let secret;
  let enrolledStep;
  await step('TOTP enrolment from the account page', async () => {
    await page.goto(`${local}/login`);
    await signIn('admin', local);
    await page.goto(`${local}/account`);
    await Promise.all([page.waitForURL(`${local}/account/mfa`), page.click('a[href="/account/mfa"]')]);
    check(await page.isVisible('figure.qr svg'), 'the QR code as SVG');
    secret = base32Decode(await page.textContent('code.wrap'));
    check(secret.length >= 16, 'a TOTP key of 128 bits or more next to the QR code');
    await accessibility('mfa-enrol');
    await shot('08-totp-enrol');
    enrolledStep = totpStep();
    await page.fill('#code', totp(secret, enrolledStep));
    await Promise.all([page.waitForNavigation(), page.click('form[action="/account/mfa/confirm"] button[type=submit]')]);
    const text = await page.textContent('main');
    check(text.includes('recovery codes'), 'recovery codes after confirming');
    check((await page.$$('ul.codes li')).length === 10, 'ten recovery codes');
    await shot('09-totp-on');
  });
  await step('sign out and in with the passphrase and a fresh TOTP code', async () => {
    await signOut(local);
    await page.fill('#username', 'admin');
    await page.fill('#password', passphrase);
    await Promise.all([page.waitForURL(`${local}/login/mfa`), page.click('form[action="/login"] button[type=submit]')]);
    await accessibility('mfa-step');
    await shot('10-totp-step');
    // The enrolment code's step is burnt (each code works once); the server
    // accepts one step of clock skew, so the next step's code is valid now.
    const fresh = Math.max(totpStep(), enrolledStep) + 1;
    await page.fill('#code', totp(secret, fresh));
    await Promise.all([page.waitForURL(`${local}/`), page.click('form[action="/login/mfa"] button[type=submit]')]);
  });
  await step('register a security key (virtual authenticator)', async () => {
    const cdp = await strict.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    await page.goto(`${local}/account/keys`);
    await accessibility('keys');
    await shot('11-keys-empty');
    await page.fill('#key-name', 'Virtual key');
    await Promise.all([
      page.waitForURL(`${local}/account/keys?added=true`),
      page.click('form[data-webauthn="register"] button[type=submit]'),
    ]);
    const text = await page.textContent('main');
    check(text.includes('Virtual key'), 'the new key listed');
    await accessibility('keys-listed');
    await shot('12-key-registered');
  });
  await step('sign out and in with the passphrase and the security key', async () => {
    await signOut(local);
    await page.fill('#username', 'admin');
    await page.fill('#password', passphrase);
    await Promise.all([page.waitForURL(`${local}/login/mfa/key`), page.click('form[action="/login"] button[type=submit]')]);
    await accessibility('key-step');
    await shot('13-key-step');
    await Promise.all([
      page.waitForURL(`${local}/`),
      page.click('form[data-webauthn="authenticate"] button[type=submit]'),
    ]);
    await page.goto(`${local}/audit`);
    const text = await page.textContent('main');
    check(text.includes('mfa.webauthn_register'), 'mfa.webauthn_register in the audit log');
    check(text.includes('second factor webauthn'), 'the sign-in with the key in the audit log');
    await shot('14-key-signed-in');
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
